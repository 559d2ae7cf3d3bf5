package simulator

import (
	"context"
	"sync"
	"time"
)

// FastClock runs Speed times faster than real time from the moment it is
// made: a 30-second callBackDelay passes in half a second at speed 60.
type FastClock struct {
	mu    sync.Mutex
	speed float64
	base  time.Time // simulated time at start
	real  time.Time // real time at start
}

// NewFastClock returns a clock starting at the current time and running at
// speed (1 is real time).
func NewFastClock(speed float64) *FastClock {
	return NewFastClockFrom(time.Now(), speed)
}

// NewFastClockFrom returns a clock starting at start and running at speed:
// a restarted simulation continues from the simulated time it had reached.
func NewFastClockFrom(start time.Time, speed float64) *FastClock {
	if speed <= 0 {
		speed = 1
	}
	return &FastClock{speed: speed, base: start, real: time.Now()}
}

// Anchor is where a FastClock started: the simulated and the real time,
// and its speed. A clock made from it in another process on the same
// machine tells the same simulated time.
type Anchor struct {
	Simulated time.Time `json:"simulated"`
	Real      time.Time `json:"real"`
	Speed     float64   `json:"speed"`
}

// Anchor returns where c started.
func (c *FastClock) Anchor() Anchor {
	return Anchor{Simulated: c.base, Real: c.real.Round(0), Speed: c.speed}
}

// Clock returns a clock running as the one a was taken from.
func (a Anchor) Clock() *FastClock {
	if a.Speed <= 0 {
		a.Speed = 1
	}
	return &FastClock{speed: a.Speed, base: a.Simulated, real: a.Real}
}

// Speed returns the speed-up.
func (c *FastClock) Speed() float64 { return c.speed }

// Now returns the simulated time.
func (c *FastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Duration(float64(time.Since(c.real)) * c.speed))
}

// Sleep waits d of simulated time.
func (c *FastClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(time.Duration(float64(d) / c.speed))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
