package consensus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// handshakeTimeout bounds how long an unauthenticated peer may hold a
// connection before completing mutual TLS.
const handshakeTimeout = 10 * time.Second

// PeerResolver looks up the addresses of a peer's host name; a
// *net.Resolver is one.
type PeerResolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// tlsStream is a raft.StreamLayer over mutual TLS: both sides must hold a
// node certificate from the network CA, re-read from disk when rotated.
//
// Peers are named by host name (on Kubernetes, a StatefulSet pod's stable
// DNS name), whose address changes when the pod is rescheduled. The old
// address then answers nothing: no reset, no reply, and a connection to it
// would hang until Raft's I/O timeout. So the stream resolves a name itself
// on every dial and, every resolveInterval, resolves again the names of the
// connections it dialled, closing each whose address the name no longer
// has (or that no longer exists); Raft's next dial reaches the new address.
type tlsStream struct {
	ln        net.Listener
	advertise net.Addr
	source    net.Addr // local address for dials, or nil
	tls       *pki.Reloader
	resolver  PeerResolver

	mu    sync.Mutex
	conns map[*peerConn]struct{} // dialled by host name, still open
	stop  chan struct{}
	done  chan struct{}

	// opened is closed once the stream may carry Raft traffic. Until then
	// (a node whose Raft state is empty, still asking its peers whether it
	// lost its data: node.rejoin) every connection is closed as soon as it
	// is accepted and no dial is made, so the node neither votes nor takes
	// entries: to its peers it is a node that is down.
	opened   chan struct{}
	openOnce sync.Once
}

func newTLSStream(ln net.Listener, bind, advertise, source string, r *pki.Reloader, resolver PeerResolver, resolveInterval time.Duration) (*tlsStream, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", bind); err != nil {
			return nil, err
		}
	}
	var adv net.Addr = ln.Addr()
	if advertise != "" {
		adv = stringAddr(advertise)
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	s := &tlsStream{ln: tls.NewListener(ln, r.ServerConfig(true)), advertise: adv, tls: r, resolver: resolver,
		conns: map[*peerConn]struct{}{}, stop: make(chan struct{}), done: make(chan struct{}), opened: make(chan struct{})}
	if source != "" {
		ip := net.ParseIP(source)
		if ip == nil {
			ln.Close()
			return nil, fmt.Errorf("dial source %q: not an IP address", source)
		}
		s.source = &net.TCPAddr{IP: ip}
	}
	if resolveInterval > 0 {
		go s.watch(resolveInterval)
	} else {
		close(s.done)
	}
	return s, nil
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

// Accept returns connections whose handshake is done lazily on first use,
// under a deadline, so a peer that never completes TLS cannot hold them.
func (s *tlsStream) Accept() (net.Conn, error) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return nil, err
		}
		if !s.isOpen() {
			c.Close() // held: to the peer, this node is down
			continue
		}
		return &handshakeConn{Conn: c.(*tls.Conn)}, nil
	}
}

// open lets Raft traffic through from now on.
func (s *tlsStream) open() { s.openOnce.Do(func() { close(s.opened) }) }

func (s *tlsStream) isOpen() bool {
	select {
	case <-s.opened:
		return true
	default:
		return false
	}
}

// errHeld is a dial refused while the stream is held.
var errHeld = errors.New("raft transport held: this node is waiting to learn whether it lost its data")

// Close stops accepting and stops re-resolving; connections already
// handed to Raft are Raft's to close.
func (s *tlsStream) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	<-s.done
	return err
}

func (s *tlsStream) Addr() net.Addr { return s.advertise }

// Dial connects to a peer and completes the TLS handshake within timeout.
// A host name is resolved here, at each dial, so a reconnect reaches the
// name's current address.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if !s.isOpen() {
		return nil, errHeld
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	host, port, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, fmt.Errorf("peer address %q: %w", address, err)
	}
	if net.ParseIP(host) != nil {
		raw, err := s.dialTCP(ctx, string(address))
		if err != nil {
			return nil, err
		}
		return s.handshake(ctx, raw)
	}
	ips, err := s.resolver.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve peer %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve peer %s: no addresses", host)
	}
	var lastErr error
	for _, ip := range ips {
		raw, err := s.dialTCP(ctx, net.JoinHostPort(ip, port))
		if err != nil {
			lastErr = err
			continue
		}
		c, err := s.handshake(ctx, raw)
		if err != nil {
			lastErr = err
			continue
		}
		pc := &peerConn{Conn: c, raw: raw, host: host, ip: ip, stream: s}
		s.mu.Lock()
		s.conns[pc] = struct{}{}
		s.mu.Unlock()
		return pc, nil
	}
	return nil, lastErr
}

func (s *tlsStream) dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: s.source}
	return d.DialContext(ctx, "tcp", addr)
}

func (s *tlsStream) handshake(ctx context.Context, raw net.Conn) (net.Conn, error) {
	c := tls.Client(raw, s.tls.ClientConfig(true, ""))
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// watch re-resolves, every interval, the names of the open connections
// and closes those whose address is no longer the name's.
func (s *tlsStream) watch(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.dropStale(interval)
		}
	}
}

// dropStale closes the dialled connections whose host name resolves no
// longer to their address. A name that does not exist any more (a pod
// deleted, not yet recreated) drops its connections too; a lookup that
// fails otherwise (a DNS server slow or down) keeps them: nothing is known.
func (s *tlsStream) dropStale(timeout time.Duration) {
	s.mu.Lock()
	byHost := map[string][]*peerConn{}
	for c := range s.conns {
		byHost[c.host] = append(byHost[c.host], c)
	}
	s.mu.Unlock()
	for host, conns := range byHost {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		ips, err := s.resolver.LookupHost(ctx, host)
		cancel()
		var dnsErr *net.DNSError
		if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
			continue
		}
		for _, c := range conns {
			if !slices.Contains(ips, c.ip) {
				c.drop()
			}
		}
	}
}

// peerConn is a connection dialled to a peer by host name.
type peerConn struct {
	net.Conn          // the TLS connection Raft uses
	raw      net.Conn // the TCP connection under it
	host, ip string
	stream   *tlsStream
	once     sync.Once
}

// Close closes the connection and forgets it.
func (c *peerConn) Close() error {
	c.forget()
	return c.Conn.Close()
}

// drop closes the TCP connection under a stale one: a Read or Write Raft
// has in flight on it fails at once, and Raft dials the name again.
func (c *peerConn) drop() {
	c.forget()
	c.raw.Close()
}

func (c *peerConn) forget() {
	c.once.Do(func() {
		c.stream.mu.Lock()
		delete(c.stream.conns, c)
		c.stream.mu.Unlock()
	})
}

type handshakeConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
		c.err = c.Conn.Handshake()
		_ = c.Conn.SetDeadline(time.Time{})
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
