// Command pause is the pod sandbox's process for the local cluster: it
// holds the pod's namespaces and does nothing until SIGTERM or SIGINT.
// It replaces registry.k8s.io/pause, so the cluster needs no registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		os.Stdout.WriteString("pause: waits for SIGTERM or SIGINT, then exits 0 (the pod sandbox of the local cluster)\n")
		return
	}
	// As PID 1 the process has no default signal actions: catch them.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	// Reap children reparented to us (PID 1 of a shared pid namespace).
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			return
		case <-chld:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
