package ingest

// Float parsing without strconv for plain decimals of up to 19 significant
// digits: Clinger's exact fast path, then the Eisel-Lemire algorithm (as in
// Go's strconv/eisel_lemire.go), whose 128-bit powers of ten are computed
// once. strconv handles what is left (more digits, inf, nan, halfway cases).

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
)

// decimalParts splits [+-]digits[.digits][e[+-]digits] into a mantissa of
// at most 19 significant digits and a power of ten; ok is false for any
// other text, including longer mantissas.
func decimalParts(b []byte) (mant uint64, exp int, neg, ok bool) {
	mant, exp, neg, i, ok := decimalPrefix(b)
	return mant, exp, neg, ok && i == len(b)
}

// decimalPrefix reads what decimalParts reads from the start of b and
// returns where it stopped; ok is false when that start is not a decimal.
func decimalPrefix(b []byte) (mant uint64, exp int, neg bool, i int, ok bool) {
	n := len(b)
	if n > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	// Digits are accumulated without counting: mant is only wrong when
	// there are more than 19 significant digits, which is checked after.
	start := i
	for ; i < n; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
	}
	nd := i - start
	if i < n && b[i] == '.' {
		i++
		frac := i
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
		}
		exp = frac - i
		nd += i - frac
	}
	if nd == 0 || (nd > 19 && significantDigits(b[start:i]) > 19) {
		return 0, 0, false, i, false
	}
	if i < n && b[i]|0x20 == 'e' {
		i++
		eneg := false
		if i < n && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		e, start := 0, i
		for ; i < n && i-start < 4; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			e = e*10 + int(d)
		}
		if i == start {
			return 0, 0, false, i, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	return mant, exp, neg, i, true
}

// significantDigits counts the digits of digits[.digits] from the first
// non-zero one.
func significantDigits(b []byte) int {
	nd := 0
	for _, c := range b {
		if c != '.' && (nd > 0 || c != '0') {
			nd++
		}
	}
	return nd
}

// fastFloat converts a plain decimal without strconv when it can.
func fastFloat(b []byte) (float64, bool) {
	mant, exp, neg, ok := decimalParts(b)
	if !ok {
		return 0, false
	}
	return floatFromParts(mant, exp, neg)
}

// floatFromParts is mant×10^exp, negated when neg, when it can be had
// exactly without strconv.
func floatFromParts(mant uint64, exp int, neg bool) (float64, bool) {
	if mant < 1<<53 && exp >= -22 && exp <= 22 {
		f := float64(mant)
		if exp > 0 {
			f *= pow10f64[exp]
		} else if exp < 0 {
			f /= pow10f64[-exp]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	return eiselLemire64(mant, exp, neg)
}

var pow10f64 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

const (
	minPow10 = -348
	maxPow10 = 347
)

// pow10Mantissas holds, for 10^e from minPow10 to maxPow10, the first 128
// bits of its binary mantissa (rounded down) as {low, high} words.
var pow10Mantissas = sync.OnceValue(func() *[maxPow10 - minPow10 + 1][2]uint64 {
	var t [maxPow10 - minPow10 + 1][2]uint64
	ten := big.NewInt(10)
	mask := new(big.Int).SetUint64(math.MaxUint64)
	for e := minPow10; e <= maxPow10; e++ {
		m := new(big.Int)
		if e >= 0 {
			m.Exp(ten, big.NewInt(int64(e)), nil)
			if n := m.BitLen(); n > 128 {
				m.Rsh(m, uint(n-128))
			} else {
				m.Lsh(m, uint(128-n))
			}
		} else {
			d := new(big.Int).Exp(ten, big.NewInt(int64(-e)), nil)
			m.Lsh(big.NewInt(1), uint(127+d.BitLen()))
			m.Quo(m, d)
		}
		lo := new(big.Int).And(m, mask).Uint64()
		hi := new(big.Int).Rsh(m, 64).Uint64()
		t[e-minPow10] = [2]uint64{lo, hi}
	}
	return &t
})

// eiselLemire64 converts mant×10^exp10 to the nearest float64, or reports
// false when it cannot decide cheaply.
func eiselLemire64(mant uint64, exp10 int, neg bool) (float64, bool) {
	if mant == 0 {
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	}
	if exp10 < minPow10 || exp10 > maxPow10 {
		return 0, false
	}
	pow := &pow10Mantissas()[exp10-minPow10]
	clz := bits.LeadingZeros64(mant)
	mant <<= uint(clz)
	const bias = 1023
	retExp2 := uint64(217706*exp10>>16+64+bias) - uint64(clz)
	xHi, xLo := bits.Mul64(mant, pow[1])
	if xHi&0x1FF == 0x1FF && xLo+mant < mant {
		yHi, yLo := bits.Mul64(mant, pow[0])
		mergedHi, mergedLo := xHi, xLo+yHi
		if mergedLo < xLo {
			mergedHi++
		}
		if mergedHi&0x1FF == 0x1FF && mergedLo+1 == 0 && yLo+mant < mant {
			return 0, false
		}
		xHi, xLo = mergedHi, mergedLo
	}
	msb := xHi >> 63
	retMant := xHi >> (msb + 9)
	retExp2 -= 1 ^ msb
	if xLo == 0 && xHi&0x1FF == 0 && retMant&3 == 1 {
		return 0, false // halfway
	}
	retMant += retMant & 1
	retMant >>= 1
	if retMant>>53 > 0 {
		retMant >>= 1
		retExp2++
	}
	if retExp2-1 >= 0x7FF-1 {
		return 0, false // subnormal, infinite or NaN
	}
	fb := retExp2<<52 | retMant&(1<<52-1)
	if neg {
		fb |= 1 << 63
	}
	return math.Float64frombits(fb), true
}
