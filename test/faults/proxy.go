package faults

import (
	"io"
	"net"
	"sync"
)

// Proxy forwards TCP connections to a target and can black-hole traffic from
// chosen source IPs: their connections are held open but carry nothing,
// as a network partition would, until healed (then they are closed, and the
// peers reconnect).
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	blocked map[string]bool
	conns   map[net.Conn]string // client side -> source IP
	closed  bool
	wg      sync.WaitGroup
}

// NewProxy listens on listen and forwards to target.
func NewProxy(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, blocked: map[string]bool{}, conns: map[net.Conn]string{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func sourceIP(c net.Conn) string {
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	return host
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		src := sourceIP(c)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[c] = src
		blocked := p.blocked[src]
		p.mu.Unlock()
		if blocked {
			continue // held open, silent: the dialer times out
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *Proxy) pipe(c net.Conn) {
	defer p.wg.Done()
	defer p.drop(c)
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (p *Proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Block black-holes traffic from src: its open connections are cut and new
// ones hang.
func (p *Proxy) Block(src string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked[src] = true
	for c, s := range p.conns {
		if s == src {
			c.Close()
			delete(p.conns, c)
		}
	}
}

// Heal lets every source through again; held connections are closed so that
// peers redial.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for src := range p.blocked {
		for c, s := range p.conns {
			if s == src {
				c.Close()
				delete(p.conns, c)
			}
		}
	}
	p.blocked = map[string]bool{}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
