package demo

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The same scale and step give the same bytes, wherever they are written
// and whatever ran before.
func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(t.TempDir(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(t.TempDir(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("files: %v vs %v", a, b)
	}
	for i := range a {
		x, _ := os.ReadFile(a[i].Path)
		y, _ := os.ReadFile(b[i].Path)
		if !bytes.Equal(x, y) || filepath.Base(a[i].Path) != filepath.Base(b[i].Path) || a[i].Rows != b[i].Rows {
			t.Errorf("%s differs between two runs", filepath.Base(a[i].Path))
		}
	}
	other, err := Generate(t.TempDir(), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a[0].Path)
	y, _ := os.ReadFile(other[0].Path)
	if bytes.Equal(x, y) {
		t.Error("scale 1 and scale 2 wrote the same customers")
	}
}

// The first load has everyone and 30 days of orders; a later step is one
// day, sends changed customers again with a later updated_at, and moves
// earlier orders on. The raw data is as messy as the package says.
func TestGenerateShapes(t *testing.T) {
	first, err := Generate(t.TempDir(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 {
		t.Fatalf("step 0 files: %v", first)
	}
	custs := readCSV(t, first[0].Path)
	if len(custs)-1 != first[0].Rows || first[0].Rows < CustomersPerScale {
		t.Fatalf("customers: %d rows, File says %d", len(custs)-1, first[0].Rows)
	}
	if strings.Join(custs[0], ",") != "customer_id,email,full_name,country,signed_up_on,updated_at" {
		t.Fatalf("header %v", custs[0])
	}
	messy, empty, spellings := 0, 0, map[string]bool{}
	for _, r := range custs[1:] {
		e := r[1]
		switch {
		case e == "":
			empty++
		case e != strings.TrimSpace(e) || e != strings.ToLower(e):
			messy++
		}
		spellings[r[3]] = true
	}
	if messy == 0 || empty == 0 || !spellings["DE"] || !spellings["Germany"] || !spellings["de"] {
		t.Errorf("customers are too clean: %d messy e-mails, %d empty, spellings %v", messy, empty, spellings)
	}

	orders := readNDJSON(t, first[2].Path)
	if len(orders) != first[2].Rows || len(orders) < InitialDays*OrdersPerDay {
		t.Fatalf("orders: %d lines, File says %d", len(orders), first[2].Rows)
	}
	seen, resent := map[float64]bool{}, 0
	for _, o := range orders {
		id := o["order_id"].(float64)
		if seen[id] {
			resent++
		}
		seen[id] = true
		if items, _ := o["items"].([]any); len(items) == 0 {
			t.Fatalf("order %v has no items", id)
		}
	}
	if resent == 0 {
		t.Error("no order was sent again with a new status")
	}

	next, err := Generate(t.TempDir(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	day := readNDJSON(t, next[len(next)-1].Path)
	newOrders := map[float64]bool{}
	for _, o := range day {
		if id := o["order_id"].(float64); !seen[id] {
			newOrders[id] = true
		}
	}
	if len(newOrders) != OrdersPerDay {
		t.Errorf("step 1 placed %d new orders, want %d", len(newOrders), OrdersPerDay)
	}
	if custs := readCSV(t, next[0].Path); len(custs)-1 <= CustomersPerScale/50 {
		t.Errorf("step 1 sent %d customers: no changed ones", len(custs)-1)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readNDJSON(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// What a step sends is newer than anything sent before it, as a feed is:
// an incremental model's high-water mark never skips a change.
func TestStepsSendNewerData(t *testing.T) {
	var lastMax string
	for step := 0; step <= 3; step++ {
		files, err := Generate(t.TempDir(), 1, step)
		if err != nil {
			t.Fatal(err)
		}
		orders := readNDJSON(t, files[len(files)-1].Path)
		lo, hi := "9999", ""
		for _, o := range orders {
			u, at := o["updated_at"].(string), o["ordered_at"].(string)
			if u < at {
				t.Fatalf("step %d: order %v updated %s before it was placed %s", step, o["order_id"], u, at)
			}
			lo, hi = min(lo, u), max(hi, u)
		}
		if step > 0 && lo <= lastMax {
			t.Errorf("step %d sends an order change at %s, not after the last step's newest %s", step, lo, lastMax)
		}
		lastMax = hi
	}
}
