// Package arrowbytes measures the memory Arrow data holds.
package arrowbytes

import "github.com/apache/arrow-go/v18/arrow"

// Batch is the bytes of a batch's Arrow buffers, children and
// dictionaries included. A slice counts its whole buffers.
func Batch(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += Data(c.Data())
	}
	return n
}

// Data is the bytes of one array's buffers, children and dictionary.
func Data(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += Data(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += Data(d.Dictionary())
	}
	return n
}
