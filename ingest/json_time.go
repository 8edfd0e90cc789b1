package ingest

// Dates and timestamps in JSON strings, parsed from the bytes without
// allocation: YYYY-MM-DD, and YYYY-MM-DD[T ]HH:MM:SS[.fraction] with an
// optional zone (Z, ±HH, ±HHMM, ±HH:MM) — RFC 3339 and the common
// space-separated form. What inference and the date32/timestamp columns
// accept.

// Kinds of temporal string.
const (
	jsonTimeNone  = iota // not a date or timestamp
	jsonTimeDate         // YYYY-MM-DD
	jsonTimeNaive        // timestamp without zone
	jsonTimeZoned        // timestamp with zone
)

// jsonTime is a parsed date or timestamp: days since the Unix epoch plus
// nanoseconds into the day, already shifted to UTC when zoned.
type jsonTime struct {
	days int64
	nsec int64 // may be negative or >= a day after a zone shift; callers add
}

func jsonDigits2(b []byte) (int, bool) {
	a, c := b[0]-'0', b[1]-'0'
	if a > 9 || c > 9 {
		return 0, false
	}
	return int(a)*10 + int(c), true
}

// jsonDaysFromCivil is Howard Hinnant's days_from_civil.
func jsonDaysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func jsonLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var jsonMonthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// jsonParseTime parses s as a date or timestamp and returns its kind
// (jsonTimeNone when it is neither).
func jsonParseTime(s []byte) (t jsonTime, kind int) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return t, jsonTimeNone
	}
	y1, ok1 := jsonDigits2(s[0:])
	y2, ok2 := jsonDigits2(s[2:])
	mo, ok3 := jsonDigits2(s[5:])
	dd, ok4 := jsonDigits2(s[8:])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return t, jsonTimeNone
	}
	y := y1*100 + y2
	if mo < 1 || mo > 12 || dd < 1 {
		return t, jsonTimeNone
	}
	maxd := jsonMonthDays[mo]
	if mo == 2 && jsonLeap(y) {
		maxd = 29
	}
	if dd > maxd {
		return t, jsonTimeNone
	}
	t.days = jsonDaysFromCivil(y, mo, dd)
	if len(s) == 10 {
		return t, jsonTimeDate
	}
	// time of day
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return t, jsonTimeNone
	}
	hh, ok1 := jsonDigits2(s[11:])
	mm, ok2 := jsonDigits2(s[14:])
	ss, ok3 := jsonDigits2(s[17:])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return t, jsonTimeNone
	}
	t.nsec = int64(hh*3600+mm*60+ss) * 1e9
	i := 19
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		var frac int64
		for i < len(s) && s[i]-'0' < 10 {
			if i-j < 9 {
				frac = frac*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == j {
			return t, jsonTimeNone
		}
		for k := i - j; k < 9; k++ {
			frac *= 10
		}
		t.nsec += frac
	}
	if i == len(s) {
		return t, jsonTimeNaive
	}
	switch s[i] {
	case 'Z', 'z':
		if i+1 == len(s) {
			return t, jsonTimeZoned
		}
		return t, jsonTimeNone
	case '+', '-':
		sign := int64(1)
		if s[i] == '-' {
			sign = -1
		}
		z := s[i+1:]
		var oh, om int
		var ok bool
		switch {
		case len(z) == 2:
			oh, ok = jsonDigits2(z)
		case len(z) == 4:
			oh, ok = jsonDigits2(z)
			if ok {
				om, ok = jsonDigits2(z[2:])
			}
		case len(z) == 5 && z[2] == ':':
			oh, ok = jsonDigits2(z)
			if ok {
				om, ok = jsonDigits2(z[3:])
			}
		}
		if !ok || oh > 23 || om > 59 {
			return t, jsonTimeNone
		}
		t.nsec -= sign * int64(oh*3600+om*60) * 1e9
		return t, jsonTimeZoned
	}
	return t, jsonTimeNone
}

// jsonTimeUnits converts t to a count of units (1, 1e3, 1e6 or 1e9 per
// second); false on overflow.
func jsonTimeUnits(t jsonTime, perSec int64) (int64, bool) {
	const day = 86400
	secs := t.days*day + t.nsec/1e9
	ns := t.nsec % 1e9
	if ns < 0 {
		ns += 1e9
		secs--
	}
	if perSec == 1e9 && (secs > 9223372035 || secs < -9223372035) {
		return 0, false
	}
	return secs*perSec + ns/(1e9/perSec), true
}
