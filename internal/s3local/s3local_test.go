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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
