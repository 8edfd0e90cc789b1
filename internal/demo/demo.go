// Package demo generates the raw files of lakeflight's demo shop: customers
// (CSV), products (Parquet) and orders (newline-delimited JSON), the three
// bronze sources the dbt project cleans into silver and gold.
//
// The data is deterministic: the same scale and step always give the same
// bytes. It is raw the way real exports are: customers arrive again when
// they change (the latest updated_at wins), e-mail addresses and country
// codes are written inconsistently, some fields are empty, orders are sent
// again when their status moves on, and line items are nested in their
// order. Step 0 is the first load (30 days of orders); each later step is
// one more day: new customers and orders, changed customers, orders that
// moved on and, every other step, a price change.
package demo

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Sizes at scale 1. Orders are per day.
const (
	CustomersPerScale = 500
	ProductsPerScale  = 60
	OrdersPerDay      = 120
	InitialDays       = 30
)

// Epoch is the first day of orders.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one generated file and the bronze table it loads into.
type File struct {
	Path  string
	Table string // namespace.name
	Rows  int
}

// Generate writes the files of one step into dir and returns them in the
// order they should be loaded. scale multiplies every size; step 0 is the
// first load, step k > 0 the k-th day after it.
func Generate(dir string, scale, step int) ([]File, error) {
	if scale < 1 {
		return nil, fmt.Errorf("demo: scale %d: want 1 or more", scale)
	}
	if step < 0 {
		return nil, fmt.Errorf("demo: step %d: want 0 or more", step)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := newShop(scale)
	// Every step replays the ones before it, so step k is the same whatever
	// ran first; only the last step's rows are written.
	var cur batch
	for s := 0; s <= step; s++ {
		cur = g.step(s)
	}
	suffix := fmt.Sprintf("step%03d", step)
	files := []File{
		{Path: filepath.Join(dir, "customers_"+suffix+".csv"), Table: "bronze.customers", Rows: len(cur.customers)},
		{Path: filepath.Join(dir, "products_"+suffix+".parquet"), Table: "bronze.products", Rows: len(cur.products)},
		{Path: filepath.Join(dir, "orders_"+suffix+".ndjson"), Table: "bronze.orders", Rows: len(cur.orders)},
	}
	if err := writeCustomers(files[0].Path, cur.customers); err != nil {
		return nil, err
	}
	if err := writeProducts(files[1].Path, cur.products); err != nil {
		return nil, err
	}
	if err := writeOrders(files[2].Path, cur.orders); err != nil {
		return nil, err
	}
	out := files[:0]
	for _, f := range files {
		if f.Rows > 0 {
			out = append(out, f)
		} else if err := os.Remove(f.Path); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type customer struct {
	id        int
	email     string
	name      string
	country   string
	signup    time.Time
	updatedAt time.Time
}

type product struct {
	id        int
	sku       string
	name      string
	category  string
	cents     int64
	active    bool
	updatedAt time.Time
}

type item struct {
	ProductID int    `json:"product_id"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unit_price"` // decimal text, as shop exports write money
}

type address struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

type order struct {
	OrderID    int       `json:"order_id"`
	CustomerID int       `json:"customer_id"`
	OrderedAt  string    `json:"ordered_at"`
	UpdatedAt  string    `json:"updated_at"`
	Status     string    `json:"status"`
	Channel    string    `json:"channel"`
	Items      []item    `json:"items"`
	ShipTo     *address  `json:"ship_to"`
	Coupon     *string   `json:"coupon"`
	placed     time.Time // for status updates
}

// batch is what one step sends.
type batch struct {
	customers []customer
	products  []product
	orders    []order
}

// shop is the generator's state across steps.
type shop struct {
	scale     int
	customers []customer
	products  []product
	orders    []order // every order placed so far, latest state
	nextOrder int
}

func newShop(scale int) *shop { return &shop{scale: scale, nextOrder: 100001} }

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret", "Linus", "Frances", "John", "Radia", "Dennis", "Sophie", "Niklaus", "Hedy"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton", "Torvalds", "Allen", "Backus", "Perlman", "Ritchie", "Wilson", "Wirth", "Lamarr"}
	// Each country as the exports spell it: code, lower case, or name.
	countries = [][]string{
		{"DE", "de", "Germany"}, {"FR", "fr", "France"}, {"NL", "nl", "Netherlands"},
		{"ES", "es", "Spain"}, {"IT", "it", "Italy"}, {"PL", "pl", "Poland"}, {"SE", "se", "Sweden"},
	}
	cities     = map[string][]string{"DE": {"Berlin", "Hamburg", "Munich"}, "FR": {"Paris", "Lyon"}, "NL": {"Amsterdam", "Utrecht"}, "ES": {"Madrid", "Valencia"}, "IT": {"Rome", "Milan"}, "PL": {"Warsaw", "Krakow"}, "SE": {"Stockholm", "Malmo"}}
	categories = []string{"coffee", "tea", "equipment", "accessories", "gift"}
	channels   = []string{"web", "web", "web", "app", "app", "marketplace"}
	domains    = []string{"example.com", "mail.example.org", "post.example.net"}
)

// step advances the shop by one step and returns what it sends.
func (g *shop) step(s int) batch {
	r := rand.New(rand.NewPCG(uint64(g.scale), uint64(s)+1))
	var b batch
	day := Epoch
	days := InitialDays
	if s > 0 {
		day = Epoch.AddDate(0, 0, InitialDays+s-1)
		days = 1
	}
	stamp := func(d time.Time) time.Time {
		return d.Add(time.Duration(r.IntN(86400)) * time.Second)
	}

	// Customers: the first load brings everyone; each day brings new
	// sign-ups and a few changed customers, sent again whole.
	newCustomers := CustomersPerScale * g.scale
	if s > 0 {
		newCustomers = max(CustomersPerScale*g.scale/50, 1)
	}
	for range newCustomers {
		id := len(g.customers) + 1
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		c := countries[r.IntN(len(countries))]
		signup := stamp(day.AddDate(0, 0, -r.IntN(365)))
		cu := customer{
			id: id, name: first + " " + last, country: c[r.IntN(len(c))], signup: signup, updatedAt: signup,
			email: messyEmail(r, fmt.Sprintf("%s.%s%d@%s", first, last, id, domains[r.IntN(len(domains))])),
		}
		if r.IntN(100) == 0 {
			cu.email = "" // no address given
		}
		g.customers = append(g.customers, cu)
		b.customers = append(b.customers, cu)
	}
	changed := max(len(g.customers)/40, 1)
	for range changed {
		i := r.IntN(len(g.customers))
		cu := g.customers[i]
		cu.updatedAt = stamp(day.AddDate(0, 0, days-1))
		if !cu.updatedAt.After(g.customers[i].updatedAt) {
			continue // changed twice within the step's last day: once is enough
		}
		c := countries[r.IntN(len(countries))]
		if r.IntN(2) == 0 {
			cu.country = c[r.IntN(len(c))] // moved
		}
		cu.email = messyEmail(r, fmt.Sprintf("customer%d@%s", cu.id, domains[r.IntN(len(domains))]))
		g.customers[i] = cu
		b.customers = append(b.customers, cu)
	}

	// Products: the catalogue comes whole at first; every other day one
	// price changes and the product is sent again.
	if s == 0 {
		for range ProductsPerScale * g.scale {
			id := len(g.products) + 1
			cat := categories[r.IntN(len(categories))]
			p := product{
				id: id, sku: fmt.Sprintf("SKU-%05d", id), name: fmt.Sprintf("%s %d", cat, id), category: cat,
				cents: int64(300 + r.IntN(15000)), active: r.IntN(20) != 0, updatedAt: day,
			}
			g.products = append(g.products, p)
			b.products = append(b.products, p)
		}
	} else if s%2 == 0 {
		i := r.IntN(len(g.products))
		p := g.products[i]
		p.cents = p.cents * int64(90+r.IntN(30)) / 100
		p.updatedAt = stamp(day)
		g.products[i] = p
		b.products = append(b.products, p)
	}

	// Orders: new ones for each day, and earlier ones sent again when their
	// status moves on.
	for d := range days {
		for range OrdersPerDay * g.scale {
			at := stamp(day.AddDate(0, 0, d))
			cu := g.customers[r.IntN(len(g.customers))]
			o := order{
				OrderID: g.nextOrder, CustomerID: cu.id, Status: "placed", Channel: channels[r.IntN(len(channels))],
				OrderedAt: at.Format(time.RFC3339), UpdatedAt: at.Format(time.RFC3339), placed: at,
			}
			g.nextOrder++
			for range 1 + r.IntN(4) {
				p := g.products[r.IntN(len(g.products))]
				o.Items = append(o.Items, item{ProductID: p.id, Quantity: 1 + r.IntN(3), UnitPrice: money(p.cents)})
			}
			code := countryCode(cu.country)
			o.ShipTo = &address{City: cities[code][r.IntN(len(cities[code]))], Country: code}
			if r.IntN(10) == 0 {
				c := fmt.Sprintf("WELCOME%d", 5*(1+r.IntN(3)))
				o.Coupon = &c
			}
			g.orders = append(g.orders, o)
			b.orders = append(b.orders, o)
		}
	}
	moved := len(g.orders) / 20
	if s == 0 {
		moved = len(g.orders) / 3
	}
	for range moved {
		i := r.IntN(len(g.orders))
		o := g.orders[i]
		next, ok := nextStatus(o.Status, r)
		if !ok {
			continue
		}
		// The change happens within this step's days, after the last one:
		// what a step sends is newer than anything sent before it.
		prev, _ := time.Parse(time.RFC3339, o.UpdatedAt)
		lo, end := prev.Add(time.Minute), day.AddDate(0, 0, days)
		if lo.Before(day) {
			lo = day
		}
		if !lo.Before(end) {
			continue
		}
		o.Status = next
		o.UpdatedAt = lo.Add(time.Duration(r.Int64N(int64(end.Sub(lo))))).Truncate(time.Second).Format(time.RFC3339)
		g.orders[i] = o
		b.orders = append(b.orders, o)
	}
	return b
}

// nextStatus moves an order on: placed → shipped → delivered, with some
// cancelled before shipping and some returned after delivery.
func nextStatus(s string, r *rand.Rand) (string, bool) {
	switch s {
	case "placed":
		if r.IntN(12) == 0 {
			return "cancelled", true
		}
		return "shipped", true
	case "shipped":
		return "delivered", true
	case "delivered":
		if r.IntN(15) == 0 {
			return "returned", true
		}
	}
	return "", false
}

// messyEmail writes an address the way sign-up forms store it: sometimes
// in capitals, sometimes with stray spaces.
func messyEmail(r *rand.Rand, e string) string {
	switch r.IntN(10) {
	case 0:
		return "  " + e
	case 1:
		return e + " "
	case 2:
		b := []byte(e)
		for i := range b {
			if b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	return e
}

// countryCode is the ISO code of any spelling in countries.
func countryCode(s string) string {
	for _, c := range countries {
		for _, v := range c {
			if v == s {
				return c[0]
			}
		}
	}
	return s
}

func money(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + fmt.Sprintf("%02d", cents%100)
}

func writeCustomers(path string, rows []customer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"customer_id", "email", "full_name", "country", "signed_up_on", "updated_at"})
	for _, c := range rows {
		_ = w.Write([]string{strconv.Itoa(c.id), c.email, c.name, c.country, c.signup.Format("2006-01-02"), c.updatedAt.Format("2006-01-02 15:04:05")})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeOrders(path string, rows []order) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := range rows {
		if err := enc.Encode(&rows[i]); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}

func writeProducts(path string, rows []product) error {
	if len(rows) == 0 {
		return os.WriteFile(path, nil, 0o644)
	}
	price := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "product_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "sku", Type: arrow.BinaryTypes.String},
		{Name: "product_name", Type: arrow.BinaryTypes.String},
		{Name: "category", Type: arrow.BinaryTypes.String},
		{Name: "list_price", Type: price},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, p := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(p.id))
		b.Field(1).(*array.StringBuilder).Append(p.sku)
		b.Field(2).(*array.StringBuilder).Append(p.name)
		b.Field(3).(*array.StringBuilder).Append(p.category)
		b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(p.cents))
		b.Field(5).(*array.BooleanBuilder).Append(p.active)
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(p.updatedAt.UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Write(rec); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}
