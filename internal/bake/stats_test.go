package bake

import "testing"

func TestRate5xx(t *testing.T) {
	for _, tt := range []struct {
		s    Stats
		want float64
		ok   bool
	}{
		{Stats{Requests: 100, Errors5xx: 2, ConnectionErrors: 3}, 0.05, true},
		{Stats{Requests: 100}, 0, true},
		{Stats{}, 0, false},
		{Stats{Requests: 100, Errors5xxMissing: true}, 0, false},
	} {
		if got, ok := tt.s.Rate5xx(); got != tt.want || ok != tt.ok {
			t.Errorf("%+v.Rate5xx() = %g, %v; want %g, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}
