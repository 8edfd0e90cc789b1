package vegadata

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	dir := Dir(t)
	for _, name := range []string{"airports.csv", "cars.json", "flights-3m.parquet", "flights-200k.arrow"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	if again := Dir(t); again != dir {
		t.Errorf("second call: %s, first %s", again, dir)
	}
}

func TestFetchIntoFreshRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches the package again (~17 MB)")
	}
	root := t.TempDir()
	t.Setenv(EnvDir, root)
	dir := Dir(t)
	if want := filepath.Join(root, cacheName, "data"); dir != want {
		t.Fatalf("Dir = %s; want %s", dir, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "seattle-weather.csv")); err != nil {
		t.Fatal(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(root, cacheName+".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left behind: %v", leftovers)
	}
}
