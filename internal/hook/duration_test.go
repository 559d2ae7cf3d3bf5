package hook

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Second, "1s"},
		{10 * time.Second, "10s"},
		{30 * time.Second, "30s"},
		{45 * time.Second, "45s"},
		{time.Minute, "1m"},
		{90 * time.Second, "1m30s"},
		{10 * time.Minute, "10m"},
		{10*time.Minute + 30*time.Second, "10m30s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 30*time.Second, "1h0m30s"},
		{time.Hour + 10*time.Minute + 20*time.Second, "1h10m20s"},
		{20 * time.Hour, "20h"},
		{14 * 24 * time.Hour, "336h"},
		{1500 * time.Millisecond, "2s"},
		{400 * time.Millisecond, "0s"},
		{-30 * time.Second, "-30s"},
	} {
		got := FormatDuration(tc.in)
		if got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tc.in.Round(time.Second) {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v, want %v", tc.in, back, err, tc.in.Round(time.Second))
		}
	}
}
