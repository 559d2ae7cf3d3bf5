package s3local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// TestEmbeddedS3ReadsWholeVersions: GETs racing PUTs of the same key each
// answer one whole version, never a torn one. (s3bolt alone, without
// copyingBackend, fails this within a few thousand reads: it serves bytes a
// concurrent write may have reused.)
func TestEmbeddedS3ReadsWholeVersions(t *testing.T) {
	srv, err := Open(filepath.Join(t.TempDir(), "s3.db"), "b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(hs.Close)
	client := s3.New(s3.Options{BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	put := func(i int) error {
		doc, _ := json.Marshal(map[string]string{"n": fmt.Sprint(i), "pad": strings.Repeat("x", 2000+(i%5)*100)})
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: bytes.NewReader(doc)})
		return err
	}
	if err := put(0); err != nil {
		t.Fatal(err)
	}
	const writes = 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; reads < 5000; reads++ {
				select {
				case <-done:
					return
				default:
				}
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil || !json.Valid(body) {
					errs <- fmt.Errorf("read %d: a torn document of %d bytes (%v)", reads, len(body), err)
					return
				}
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestObjectOutlivesItsMapping: what a GET or HEAD returns is copied out
// of bolt's memory map (bson decodes the stored object in place): read after
// the map changed under it (a write that grew the file, the database closed
// while a response was still being written, as local mode closes), an
// object's hash read freed memory, a SIGSEGV.
func TestObjectOutlivesItsMapping(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "s3.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	backend := s3bolt.New(db)
	if err := backend.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	b := &copyingBackend{Backend: backend}
	// Enough objects that the bucket has pages of its own: bolt reads them
	// from its memory map (a small bucket lives inline, in its parent).
	pad := bytes.Repeat([]byte("x"), 300)
	for i := range 64 {
		if _, err := b.PutObject("b", fmt.Sprintf("pad-%02d", i), nil, bytes.NewReader(pad), int64(len(pad)), nil); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte(`{"n": 1}`)
	if _, err := b.PutObject("b", "k", map[string]string{"Content-Type": "application/json"}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatal(err)
	}
	// The map starts at Info().Data; a gigabyte past it is far more than
	// this file's mapping.
	mapped := func(p []byte) bool {
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return at >= db.Info().Data && at-db.Info().Data < 1<<30
	}
	if raw, err := backend.GetObject("b", "k", nil); err != nil || !mapped(raw.Hash) {
		t.Fatalf("the check cannot tell: s3bolt's own hash is not in the map (%v)", err)
	}
	got, err := b.GetObject("b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := b.HeadObject("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if mapped(got.Hash) || mapped(head.Hash) {
		t.Error("a GET's or HEAD's hash still points into bolt's memory map")
	}
	want := fmt.Sprintf("%x", got.Hash)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if h := fmt.Sprintf("%x", got.Hash); h != want || fmt.Sprintf("%x", head.Hash) != want || head.Metadata["Content-Type"] != "application/json" {
		t.Errorf("after the close: GET hash %s, HEAD hash %x, metadata %v; want %s and the content type", h, head.Hash, head.Metadata, want)
	}
}
