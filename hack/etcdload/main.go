// Command etcdload drives an etcd cluster with puts through the official Go
// client, as ledgerbench drives tradeledger: N concurrent clients sharing
// one client connection (gRPC multiplexes them over HTTP/2, as etcd's own
// benchmark tool does by default), each put waiting for its commit, for a
// fixed time (closed loop) or at a fixed rate (open loop, latency measured
// from each put's due time). It prints one JSON object with every latency;
// ledgerbench computes the statistics, with the same code for both systems.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

type result struct {
	Clients   int     `json:"clients"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate,omitempty"`
	Failed    int     `json:"failed"`
	FirstErr  string  `json:"firstError,omitempty"`
	Latencies []int64 `json:"latenciesUs"`
}

func main() {
	endpoints := flag.String("endpoints", "", "etcd client URLs, comma-separated")
	cacert := flag.String("cacert", "", "CA certificate (PEM) for https endpoints")
	cert := flag.String("cert", "", "client certificate (PEM)")
	key := flag.String("key", "", "client key (PEM)")
	clients := flag.Int("clients", 16, "concurrent clients (goroutines sharing the connections)")
	conns := flag.Int("conns", 1, "client connections the clients share")
	valueBytes := flag.Int("value-bytes", 1500, "value size of each put")
	seconds := flag.Float64("seconds", 5, "how long to load")
	rate := flag.Float64("rate", 0, "open loop: puts per second in all (0: closed loop)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: etcdload -endpoints https://127.0.0.1:2379,... [flags]\n\nPrints one JSON object: clients, seconds, failed, latenciesUs (one per completed put).")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *endpoints == "" || *clients < 1 || *conns < 1 || *seconds <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	res, err := run(strings.Split(*endpoints, ","), *cacert, *cert, *key, *clients, *conns, *valueBytes, *seconds, *rate)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdload:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "etcdload:", err)
		os.Exit(1)
	}
}

func run(endpoints []string, cacert, cert, key string, clients, conns, valueBytes int, seconds, rate float64) (*result, error) {
	var tc *tls.Config
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", cacert)
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if cert != "" {
			kp, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{kp}
		}
	}
	var cls []*clientv3.Client
	defer func() {
		for _, c := range cls {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tc, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, err
		}
		cls = append(cls, c)
	}
	value := strings.Repeat("v", valueBytes)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*float64(time.Second))+2*time.Minute)
	defer cancel()
	// One put to warm the connections (not measured).
	if _, err := cls[0].Put(ctx, "warmup", value); err != nil {
		return nil, fmt.Errorf("first put: %w", err)
	}
	d := time.Duration(seconds * float64(time.Second))
	res := &result{Clients: clients, Rate: rate}
	var mu sync.Mutex
	record := func(lat []int64, failed int, err error) {
		mu.Lock()
		res.Latencies = append(res.Latencies, lat...)
		res.Failed += failed
		if err != nil && res.FirstErr == "" {
			res.FirstErr = err.Error()
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	if rate <= 0 {
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cl := cls[i%len(cls)]
				k := fmt.Sprintf("bench/c%d", i)
				var lat []int64
				failed := 0
				var first error
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if _, err := cl.Put(ctx, k, value); err != nil {
						failed++
						if first == nil {
							first = err
						}
						continue
					}
					lat = append(lat, time.Since(t0).Microseconds())
				}
				record(lat, failed, first)
			}(i)
		}
		wg.Wait()
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	// Open loop: put n is due at start + n/rate; at most `clients` puts run
	// at once (later ones wait, and their wait counts in their latency).
	total := int(seconds * rate)
	slots := make(chan struct{}, clients)
	for n := 0; n < total; n++ {
		due := start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(n int, due time.Time) {
			defer wg.Done()
			defer func() { <-slots }()
			_, err := cls[n%len(cls)].Put(ctx, fmt.Sprintf("bench/c%d", n%clients), value)
			if err != nil {
				record(nil, 1, err)
				return
			}
			record([]int64{time.Since(due).Microseconds()}, 0, nil)
		}(n, due)
	}
	wg.Wait()
	res.Seconds = seconds
	return res, nil
}
