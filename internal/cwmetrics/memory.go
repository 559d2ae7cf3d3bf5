package cwmetrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// AlarmReader reads alarm states: *Client from CloudWatch, *Memory from
// memory.
type AlarmReader interface {
	// Alarms returns every alarm named in names or whose name starts with
	// one of prefixes, each once, sorted by name; names that match no alarm
	// are absent.
	Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error)
}

// Memory is the in-memory twin of Client's alarm reading: alarms kept by
// name, selected as DescribeAlarms selects them. It is safe for concurrent
// use.
type Memory struct {
	mu     sync.Mutex
	alarms []Alarm // sorted by name
}

// SetAlarm adds a, or replaces the alarm of that name.
func (m *Memory) SetAlarm(a Alarm) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, found := slices.BinarySearchFunc(m.alarms, a.Name, func(x Alarm, name string) int { return strings.Compare(x.Name, name) })
	if found {
		m.alarms[i] = a
		return
	}
	m.alarms = slices.Insert(m.alarms, i, a)
}

// Alarms implements AlarmReader, with Client's limit of MaxAlarms.
func (m *Memory) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alarm
	for _, a := range m.alarms {
		if slices.Contains(names, a.Name) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(a.Name, p) }) {
			out = append(out, a)
		}
	}
	if len(out) > MaxAlarms {
		return nil, fmt.Errorf("more than %d alarms match", MaxAlarms)
	}
	return out, nil
}
