package node_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

var (
	fuzzOnce    sync.Once
	fuzzCluster *testcluster.Cluster
)

// FuzzAPIQuery sends read requests with arbitrary path segments and query
// parameters to a real single-node ledger: every answer is a proper 2xx or
// 4xx (or 503 while there is no leader), never a 500 or a panic.
func FuzzAPIQuery(f *testing.F) {
	f.Add(uint8(0), "latest", "consistency=strong")
	f.Add(uint8(1), "0123", "proof=true")
	f.Add(uint8(2), "x", "from=18446744073709551615&to=1")
	f.Add(uint8(3), "%00", "consistency=weird")
	f.Add(uint8(4), "participant/../../admin", "")
	f.Add(uint8(5), "a", "self=true")
	f.Fuzz(func(t *testing.T, route uint8, seg, query string) {
		fuzzOnce.Do(func() {
			dir, _ := os.MkdirTemp("", "fuzz-api-")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			o := testcluster.DefaultConfig()
			o.Nodes, o.Dir = 1, dir
			c, err := testcluster.New(ctx, o)
			if err != nil {
				panic(err)
			}
			fuzzCluster = c
		})
		paths := []string{"/v1/blocks/", "/v1/tx/", "/v1/proof/consistency", "/v1/notes/", "/v1/identities/", "/v1/cluster/status", "/v1/keys/", "/v1/head"}
		p := paths[int(route)%len(paths)]
		if p[len(p)-1] == '/' {
			p += url.PathEscape(seg)
		}
		req, err := http.NewRequest(http.MethodGet, "https://node"+p+"?"+query, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		fuzzCluster.Node(0).Handler().ServeHTTP(rec, fuzzCluster.AsAdmin(req))
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s?%s: %d %s", p, query, rec.Code, rec.Body.String())
		}
	})
}
