package consensus

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// handshakeTimeout bounds how long an unauthenticated peer may hold a
// connection before completing mutual TLS.
const handshakeTimeout = 10 * time.Second

// tlsStream is a raft.StreamLayer over mutual TLS: both sides must hold a
// node certificate from the network CA, re-read from disk when rotated.
type tlsStream struct {
	ln        net.Listener
	advertise net.Addr
	source    net.Addr // local address for dials, or nil
	tls       *pki.Reloader
}

func newTLSStream(ln net.Listener, bind, advertise, source string, r *pki.Reloader) (*tlsStream, error) {
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
	s := &tlsStream{ln: tls.NewListener(ln, r.ServerConfig(true)), advertise: adv, tls: r}
	if source != "" {
		ip := net.ParseIP(source)
		if ip == nil {
			ln.Close()
			return nil, fmt.Errorf("dial source %q: not an IP address", source)
		}
		s.source = &net.TCPAddr{IP: ip}
	}
	return s, nil
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

// Accept returns connections whose handshake is done lazily on first use,
// under a deadline, so a peer that never completes TLS cannot hold them.
func (s *tlsStream) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: c.(*tls.Conn)}, nil
}

func (s *tlsStream) Close() error   { return s.ln.Close() }
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// Dial connects to a peer and completes the TLS handshake within timeout.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout, LocalAddr: s.source}, Config: s.tls.ClientConfig(true, "")}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, "tcp", string(address))
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
