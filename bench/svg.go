package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// writeSVG draws, for every case, how many times faster mpsync is than
// each peer (peer/mpsync for times, mpsync/peer for rates), as bars on a
// log scale centred on 1: bars to the right of the line are peers mpsync
// beats. One scale fits every workload whatever its unit.
func (r *Report) writeSVG(w io.Writer) {
	const (
		left, right, rowH, barH = 330, 40, 18, 12
		plotW                   = 560
		minLog, maxLog          = -2.0, 3.0 // 0.01× to 1000×
	)
	type bar struct {
		label string
		f     float64 // how many times faster mpsync is
	}
	type group struct {
		title string
		bars  []bar
	}
	var groups []group
	for _, wl := range r.Workloads {
		for _, c := range wl.Cases {
			g := group{title: wl.ID + " " + c.Name}
			for i, rw := range rows(c) {
				if i == 0 || rw.Status != "ok" || math.IsNaN(rw.Ratio) || rw.Ratio <= 0 {
					continue
				}
				f := 1 / rw.Ratio
				if !c.Lower {
					f = rw.Ratio
				}
				g.bars = append(g.bars, bar{rw.Impl, f})
			}
			if len(g.bars) > 0 {
				groups = append(groups, g)
			}
		}
	}
	height := 70
	for _, g := range groups {
		height += rowH * (len(g.bars) + 1)
	}
	x := func(f float64) float64 {
		l := math.Max(minLog, math.Min(maxLog, math.Log10(f)))
		return left + (l-minLog)/(maxLog-minLog)*plotW
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", left+plotW+right, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="18" font-size="14" font-weight="bold">mpsync against its peers: how many times faster mpsync is (log scale)</text>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="34" fill="#555">%s · %d cores · right of 1×: mpsync faster; left: the peer is</text>`+"\n",
		html.EscapeString(r.Machine.CPU), r.Machine.Cores)
	top := 50
	for l := minLog; l <= maxLog; l++ {
		gx := x(math.Pow(10, l))
		color := "#ddd"
		if l == 0 {
			color = "#333"
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", gx, top, gx, height-14, color)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s×</text>`+"\n", gx, height-2, trimFloat(math.Pow(10, l)))
	}
	y := top
	for _, g := range groups {
		fmt.Fprintf(w, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+12, html.EscapeString(g.title))
		y += rowH
		for _, b := range g.bars {
			x0, x1 := x(1), x(b.f)
			color := "#2a7f3f"
			if x1 < x0 {
				x0, x1, color = x1, x0, "#b5452b"
			}
			fmt.Fprintf(w, `<text x="24" y="%d" fill="#333">vs %s</text>`+"\n", y+10, html.EscapeString(b.label))
			fmt.Fprintf(w, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y, math.Max(x1-x0, 1), barH, color)
			fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#333">%s×</text>`+"\n", math.Max(x(b.f), x(1))+4, y+10, trimFloat(b.f))
			y += rowH
		}
	}
	fmt.Fprintln(w, "</svg>")
}

// trimFloat prints a factor with two or three significant digits.
func trimFloat(f float64) string {
	s := fmt.Sprintf("%.3g", f)
	if strings.Contains(s, "e") {
		s = fmt.Sprintf("%.0f", f)
	}
	return s
}
