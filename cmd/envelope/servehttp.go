package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"envelope/web"
)

// httpOptions are serve's flags for the HTTP server itself: TLS, the
// proxies in front of it, the cap on open connections and the API's rate
// limit per client.
type httpOptions struct {
	tlsCert, tlsKey string
	proxies         prefixList
	maxConns        int
	apiRate         float64
	apiBurst        int
}

// prefixList is a repeatable (or comma-separated) CIDR flag.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			// A single address is a /32 (or /128).
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q is neither a CIDR range (10.0.0.0/8) nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

func httpFlags(fs *flag.FlagSet) *httpOptions {
	o := &httpOptions{}
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file; needs --tls-key")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.Var(&o.proxies, "trusted-proxy", "a reverse proxy's address or CIDR range (repeatable, or comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed: session cookies are Secure behind a TLS-terminating proxy")
	fs.IntVar(&o.maxConns, "max-conns", web.MaxConns, "most connections open at once; at the cap the one longest without a request in progress (headers unfinished, or idle) is closed to let a new one in, and when every one has a request in progress new ones wait to be accepted")
	def := web.DefaultAPILimit
	fs.Float64Var(&o.apiRate, "api-rate", float64(time.Second)/float64(def.Every), "API requests a second each client (bearer token, or address without one) may send once its burst is spent, over every instance sharing a PostgreSQL database; more are answered 429 with Retry-After; 0: no limit")
	fs.IntVar(&o.apiBurst, "api-burst", def.Burst, "API requests a client may send at once")
	return o
}

// check refuses half a TLS configuration.
func (o *httpOptions) check() error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if o.maxConns < 1 {
		return fmt.Errorf("--max-conns: must be at least 1")
	}
	if o.apiRate < 0 || o.apiBurst < 1 {
		return fmt.Errorf("--api-rate must be 0 or more and --api-burst at least 1")
	}
	// The shared buckets count in microseconds, and a period must fit a
	// Duration: past either bound the limit would fail every check, or
	// come out as none.
	if o.apiRate != 0 && (o.apiRate > maxAPIRate || o.apiRate < minAPIRate) {
		return fmt.Errorf("--api-rate %g: must be 0 (no limit) or from %g (one a day) to %g a second", o.apiRate, minAPIRate, maxAPIRate)
	}
	return nil
}

// The bounds of --api-rate other than 0: a period of at most a day and
// at least the microsecond store.DB.TakeRate counts in.
const (
	minAPIRate = 1.0 / 86400
	maxAPIRate = 1e6
)

// apiLimit is the API's rate limit per client the flags say.
func (o *httpOptions) apiLimit() web.RateLimit {
	if o.apiRate == 0 {
		return web.RateLimit{}
	}
	return web.RateLimit{Every: time.Duration(float64(time.Second) / o.apiRate), Burst: o.apiBurst}
}

func (o *httpOptions) scheme() string {
	if o.tlsCert != "" {
		return "https"
	}
	return "http"
}

// loadTLS loads the certificate into hs, so a bad file is refused before
// the server says it is serving.
func (o *httpOptions) loadTLS(hs *http.Server) error {
	if o.tlsCert == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	hs.TLSConfig.Certificates = []tls.Certificate{cert}
	return nil
}
