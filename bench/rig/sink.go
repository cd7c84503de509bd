package rig

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sink is a merchant's callback endpoint: it answers *ok* and remembers
// when each input address was first called back.
type Sink struct {
	srv  *http.Server
	addr string
	mu   sync.Mutex
	at   map[string]time.Time
	n    int
}

// NewSink listens on 127.0.0.1:port (0: any).
func NewSink(port int) (*Sink, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	s := &Sink{at: map[string]time.Time{}, addr: ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		addr := r.URL.Query().Get("input_address")
		s.mu.Lock()
		if _, ok := s.at[addr]; !ok {
			s.at[addr] = now
		}
		s.n++
		s.mu.Unlock()
		w.Write([]byte("*ok*"))
	})}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr returns the sink's host and port.
func (s *Sink) Addr() string { return s.addr }

// Arrived returns when input address addr was first called back.
func (s *Sink) Arrived(addr string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[addr]
	return t, ok
}

// Calls returns how many callbacks arrived.
func (s *Sink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

// Within polls cond every 10 ms until it holds, or fails after bound.
func Within(bound time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
