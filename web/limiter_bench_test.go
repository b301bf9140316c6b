package web

import (
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"envelope/cases/store/storetest"
)

// BenchmarkLimiter is what one rate-limit check costs, to read as ratios
// (docs/performance.md): the memory buckets (SQLite, and the API's
// fallback), the shared buckets on PostgreSQL for many clients, for one
// client whose requests all update one row, and for a client past its
// limit, refused from the instance's memory of the refusal.
func BenchmarkLimiter(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := RateLimit{Every: time.Microsecond, Burst: 1 << 30} // never refuses
	run := func(b *testing.B, l Limiter, rl RateLimit, clients int) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				client := "token:" + strconv.FormatInt(n.Add(1)%int64(clients), 10)
				if _, _, err := l.Take(ctx, limitAPI, client, time.Now(), rl); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("memory", func(b *testing.B) { run(b, &memLimiter{}, open, 1000) })
	db := storetest.Postgres(b)
	b.Run("postgres/many-clients", func(b *testing.B) { run(b, newLimiter(db, quiet), open, 1000) })
	b.Run("postgres/one-client", func(b *testing.B) { run(b, newLimiter(db, quiet), open, 1) })
	b.Run("postgres/refused", func(b *testing.B) {
		run(b, newLimiter(db, quiet), RateLimit{Every: time.Hour, Burst: 1}, 1)
	})
}
