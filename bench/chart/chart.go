// Package chart draws the SVG bar charts of the benchmark reports.
package chart

import (
	"fmt"
	"strings"
)

// BarChart renders a small horizontal bar chart as SVG: one bar per
// measurement, labelled with its value, scaled to the largest.
func BarChart(title, unit string, labels []string, values []float64) string {
	const (
		width, left, barH, gap, top = 640, 300, 26, 12, 40
	)
	height := top + len(values)*(barH+gap) + 10
	peak := 0.0
	for _, v := range values {
		peak = max(peak, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", escape(title))
	for i, v := range values {
		y := top + i*(barH+gap)
		w := 0.0
		if peak > 0 {
			w = v / peak * float64(width-left-90)
		}
		fmt.Fprintf(&b, `<text x="10" y="%d">%s</text>`+"\n", y+barH*2/3, escape(labels[i]))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#3b7dd8"/>`+"\n", left, y, w, barH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.0f %s</text>`+"\n", float64(left)+w+6, y+barH*2/3, v, escape(unit))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
