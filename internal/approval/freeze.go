package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Limits on freezes and change windows.
const (
	MaxFreezes       = 50
	MaxChangeWindows = 20
	MaxFreezeReason  = 200
)

// Freeze is a period in which deployments need an emergency override.
type Freeze struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason,omitempty"`
}

// ChangeWindow is a weekly period in which deployments may go ahead: on the
// given days, from Start to End (minutes after midnight) in Zone. A window
// whose end is before its start runs past midnight into the next day.
type ChangeWindow struct {
	Days       []time.Weekday
	Start, End int
	Zone       *time.Location
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// changeWindowJSON is a ChangeWindow as written in settings:
// {"days": ["mon", "tue"], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}.
type changeWindowJSON struct {
	Days     []string `json:"days"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Timezone string   `json:"timezone"`
}

// MarshalJSON writes w as it is configured.
func (w ChangeWindow) MarshalJSON() ([]byte, error) {
	j := changeWindowJSON{Start: clockText(w.Start), End: clockText(w.End), Timezone: "UTC"}
	if w.Zone != nil {
		j.Timezone = w.Zone.String()
	}
	for _, d := range w.Days {
		j.Days = append(j.Days, strings.ToLower(d.String()[:3]))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads and checks a configured window.
func (w *ChangeWindow) UnmarshalJSON(b []byte) error {
	var j changeWindowJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return errWindowShape
	}
	var errs []error
	*w = ChangeWindow{}
	if len(j.Days) == 0 {
		errs = append(errs, errors.New("days: name at least one day (mon, tue, wed, thu, fri, sat, sun)"))
	}
	for _, d := range j.Days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			errs = append(errs, fmt.Errorf("days: %q, want mon, tue, wed, thu, fri, sat or sun", hook.Clip(d, 40)))
			continue
		}
		if !slices.Contains(w.Days, wd) {
			w.Days = append(w.Days, wd)
		}
	}
	var startErr, endErr error
	if w.Start, startErr = parseClock(j.Start); startErr != nil {
		errs = append(errs, fmt.Errorf("start: %w", startErr))
	} else if w.Start == 24*60 {
		errs = append(errs, errors.New(`start: "24:00" is the end of a day, want 00:00 to 23:59`))
	}
	if w.End, endErr = parseClock(j.End); endErr != nil {
		errs = append(errs, fmt.Errorf("end: %w", endErr))
	}
	if startErr == nil && endErr == nil && w.Start == w.End {
		errs = append(errs, errors.New("end: equal to start, an empty window"))
	}
	var err error
	if j.Timezone == "" {
		errs = append(errs, errors.New(`timezone: required, an IANA zone such as "Europe/Berlin" or "UTC"`))
	} else if w.Zone, err = time.LoadLocation(j.Timezone); err != nil || strings.EqualFold(j.Timezone, "local") {
		errs = append(errs, fmt.Errorf("timezone: %q is not an IANA time zone such as \"Europe/Berlin\"", hook.Clip(j.Timezone, 40)))
	}
	return errors.Join(errs...)
}

// errWindowShape: a change window that is not an object with the known keys.
var errWindowShape = errors.New(`want {"days": ["mon", ...], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}`)

// parseClock parses "HH:MM" (24 h; "24:00" is the end of the day) into
// minutes after midnight.
func parseClock(s string) (int, error) {
	digit := func(i int) bool { return s[i] >= '0' && s[i] <= '9' }
	if len(s) != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4) {
		return 0, fmt.Errorf("%q, want HH:MM such as \"09:00\"", hook.Clip(s, 40))
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q, want HH:MM from 00:00 to 24:00", s)
	}
	return h*60 + m, nil
}

func clockText(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// String describes w for people: "mon-fri 09:00-17:00 Europe/Berlin".
func (w ChangeWindow) String() string {
	var days []string
	for _, d := range w.Days {
		days = append(days, strings.ToLower(d.String()[:3]))
	}
	zone := "UTC"
	if w.Zone != nil {
		zone = w.Zone.String()
	}
	return fmt.Sprintf("%s %s-%s %s", strings.Join(days, ","), clockText(w.Start), clockText(w.End), zone)
}

// contains reports whether t falls in the window.
func (w ChangeWindow) contains(t time.Time) bool {
	zone := w.Zone
	if zone == nil {
		zone = time.UTC
	}
	lt := t.In(zone)
	min := lt.Hour()*60 + lt.Minute()
	if w.Start < w.End {
		return slices.Contains(w.Days, lt.Weekday()) && min >= w.Start && min < w.End
	}
	// Past midnight: the evening part on a listed day, or the morning part
	// on the day after one.
	return slices.Contains(w.Days, lt.Weekday()) && min >= w.Start ||
		slices.Contains(w.Days, (lt.Weekday()+6)%7) && min < w.End
}

// validateFreezes checks configured freezes, naming them by key.
func validateFreezes(key string, fs []Freeze) []error {
	var errs []error
	if len(fs) > MaxFreezes {
		errs = append(errs, fmt.Errorf("%s: %d freezes, at most %d", key, len(fs), MaxFreezes))
	}
	for i, f := range fs {
		if f.Start.IsZero() || f.End.IsZero() || !f.End.After(f.Start) {
			errs = append(errs, fmt.Errorf("%s[%d]: want a start and a later end, RFC 3339 times such as \"2026-12-20T00:00:00Z\"", key, i))
		}
		if len(f.Reason) > MaxFreezeReason || oneLine(f.Reason) != f.Reason {
			errs = append(errs, fmt.Errorf("%s[%d].reason: want one line of at most %d bytes", key, i, MaxFreezeReason))
		}
	}
	return errs
}

// FrozenAt says why a deployment needs an emergency override at t: a freeze
// covers t, or change windows are configured and none contains t. It
// returns "" when a deployment may go ahead.
func (s Settings) FrozenAt(t time.Time) string {
	// Of the freezes covering t, the one that lasts longest.
	var in *Freeze
	for i, f := range s.Freezes {
		if !t.Before(f.Start) && t.Before(f.End) && (in == nil || f.End.After(in.End)) {
			in = &s.Freezes[i]
		}
	}
	if in != nil {
		why := "deployment freeze"
		if in.Reason != "" {
			why += " (" + in.Reason + ")"
		}
		return why + " until " + stamp(in.End)
	}
	if why := outside(t, s.ChangeWindows, "the change windows"); why != "" {
		return why
	}
	return outside(t, s.ServiceWindows, "the service's change windows")
}

// outside says that t is in none of windows, named what; "" when it is in
// one, or there are none.
func outside(t time.Time, windows []ChangeWindow, what string) string {
	if len(windows) == 0 || slices.ContainsFunc(windows, func(w ChangeWindow) bool { return w.contains(t) }) {
		return ""
	}
	var ws []string
	for _, w := range windows {
		ws = append(ws, w.String())
	}
	return "outside " + what + " (" + strings.Join(ws, "; ") + ")"
}

// ParseFreezes parses and checks a JSON list of freezes, as in
// GATEHOUSE_FREEZES and hookDetails.freezes; each error names key and the
// freeze's index.
func ParseFreezes(key string, raw []byte) ([]Freeze, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, fmt.Errorf(`%s: want a JSON list of {"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "..."}`, key)
	}
	var fs []Freeze
	var errs []error
	for i, r := range list {
		var f Freeze
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			errs = append(errs, fmt.Errorf(`%s[%d]: want {"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "..."} with RFC 3339 times: %v`, key, i, err))
			continue
		}
		fs = append(fs, f)
	}
	if len(errs) == 0 {
		errs = validateFreezes(key, fs)
	}
	return fs, errors.Join(errs...)
}

// ParseChangeWindows parses a JSON list of change windows, as in
// GATEHOUSE_CHANGE_WINDOWS and hookDetails.changeWindows. Each error names
// key and the window's index.
func ParseChangeWindows(key string, raw []byte) ([]ChangeWindow, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, fmt.Errorf(`%s: want a JSON list of {"days": ["mon", ...], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}`, key)
	}
	var ws []ChangeWindow
	var errs []error
	for i, r := range list {
		var w ChangeWindow
		err := json.Unmarshal(r, &w)
		if err == nil {
			ws = append(ws, w)
			continue
		}
		each := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			each = j.Unwrap()
		}
		for _, e := range each {
			if e == errWindowShape {
				errs = append(errs, fmt.Errorf("%s[%d]: %v", key, i, e))
			} else {
				errs = append(errs, fmt.Errorf("%s[%d].%v", key, i, e))
			}
		}
	}
	return ws, errors.Join(errs...)
}
