package relay

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
)

// maxLag is how many blocks a scanner may trail its node and still count
// as healthy: catching up after a restart takes a moment.
const maxLag = 6

// Health is the service's state, as /healthz shows it.
type Health struct {
	OK    bool         `json:"ok"`
	Coins []CoinHealth `json:"coins"`
	// Onion is the API's onion service, when there is one.
	Onion *OnionHealth `json:"onion,omitempty"`
}

// OnionHealth is the onion service's part of Health.
type OnionHealth struct {
	Address   string `json:"address"`
	Published bool   `json:"published"`
}

// Onion is what the service shows of an onion service publishing its API;
// *torproxy.Onion implements it.
type Onion interface {
	Address() string
	Up() bool
}

// SetOnion makes /healthz show the onion service o. An onion service that
// is not published does not make the service unhealthy: the API still
// answers on its own address.
func (s *Service) SetOnion(o Onion) { s.onion.Store(&o) }

// CoinHealth is one coin's part of Health.
type CoinHealth struct {
	Coin       string `json:"coin"`
	NodeOK     bool   `json:"node_ok"`
	NodeError  string `json:"node_error,omitempty"`
	NodeHeight int64  `json:"node_height"`
	ScanHeight int64  `json:"scan_height"`
	Behind     int64  `json:"behind"`
	Watched    int    `json:"watched"`
	Halted     string `json:"halted,omitempty"`
}

// Health asks each coin's node for its height and compares it with the
// scanner's. It is OK when every node answers, no scanner has halted, and
// none trails its node by more than a few blocks.
func (s *Service) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h := Health{OK: true}
	for _, r := range s.order {
		c := CoinHealth{Coin: r.Coin.Name(), ScanHeight: r.scanHeight.Load(), Watched: r.watch.Len()}
		if msg := r.halted.Load(); msg != nil {
			c.Halted = *msg
		}
		tip, err := r.Node.BlockCount(ctx)
		if err != nil {
			c.NodeError = err.Error()
		} else {
			c.NodeOK, c.NodeHeight = true, tip
			c.Behind = max(0, tip-c.ScanHeight)
		}
		if !c.NodeOK || c.Halted != "" || c.Behind > maxLag {
			h.OK = false
		}
		h.Coins = append(h.Coins, c)
	}
	if o := s.onion.Load(); o != nil {
		h.Onion = &OnionHealth{Address: (*o).Address(), Published: (*o).Up()}
	}
	return h
}

func (s *Service) healthz(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
	h := s.Health(req.Context())
	status := http.StatusOK
	if !h.OK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}
