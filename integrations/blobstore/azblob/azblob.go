// Package azblob keeps backups as block blobs in an Azure Blob container.
package azblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	sdk "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
)

// Options says which container an Azure Blob store uses and how to
// reach it.
type Options struct {
	Account   string
	Container string
	// Prefix is prepended to every blob name; empty for the container's
	// root.
	Prefix string
	// Endpoint is the blob service URL when it is not
	// https://ACCOUNT.blob.core.windows.net/: Azurite's
	// http://127.0.0.1:10000/devstoreaccount1, a sovereign cloud, a
	// private endpoint.
	Endpoint string
	// BlockSize is the size of the blocks a blob is uploaded in (at least
	// 1 MiB; 0 for 4 MiB). At most four blocks are in memory at once.
	BlockSize int64
}

// ParseURL reads a storage URL of the form
//
//	azblob://account/container/prefix?endpoint=http://127.0.0.1:10000/devstoreaccount1&blockSize=8388608
//
// Credentials never go in the URL: see New.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, fmt.Errorf("azblob url: %w", err)
	}
	if u.Scheme != "azblob" {
		return Options{}, fmt.Errorf("azblob url %q: scheme must be azblob", raw)
	}
	if u.User != nil {
		return Options{}, errors.New("azblob url: credentials do not belong in the URL; use AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or an Azure identity")
	}
	container, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	o := Options{Account: u.Host, Container: container, Prefix: prefix}
	if o.Account == "" || o.Container == "" {
		return Options{}, fmt.Errorf("azblob url %q: want azblob://account/container[/prefix]", raw)
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Options{}, fmt.Errorf("azblob url: endpoint %q: want http(s)://host[:port][/account]", v)
			}
			if e.User != nil {
				return Options{}, fmt.Errorf("azblob url: endpoint: credentials do not belong in the URL; use the environment or config files")
			}
			o.Endpoint = v
		case "blockSize":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1<<20 || n > 4000<<20 {
				return Options{}, fmt.Errorf("azblob url: blockSize %q: want a byte count from 1 MiB to 4000 MiB", v)
			}
			o.BlockSize = n
		default:
			return Options{}, fmt.Errorf("azblob url: unknown parameter %q (want endpoint or blockSize)", k)
		}
	}
	return o, nil
}

// Store keeps objects as block blobs in an Azure Blob container under a
// prefix. A blob is uploaded as blocks and committed with one block list
// at the end, so it appears whole or not at all.
type Store struct {
	client *sdk.Client
	opts   Options
}

// New returns a store for opts. Credentials, in this order:
// AZURE_STORAGE_CONNECTION_STRING (its account must be opts.Account),
// AZURE_STORAGE_KEY (the account's shared key), else azidentity's
// DefaultAzureCredential (environment, workload identity, managed
// identity, Azure CLI).
func New(ctx context.Context, opts Options) (*Store, error) {
	serviceURL := opts.Endpoint
	if serviceURL == "" {
		serviceURL = "https://" + opts.Account + ".blob.core.windows.net/"
	}
	var client *sdk.Client
	var err error
	switch cs, key := os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), os.Getenv("AZURE_STORAGE_KEY"); {
	case cs != "":
		if name := connStringField(cs, "AccountName"); name != "" && name != opts.Account {
			return nil, fmt.Errorf("blobstore: AZURE_STORAGE_CONNECTION_STRING is for account %q, the storage URL names %q", name, opts.Account)
		}
		if opts.Endpoint == "" {
			client, err = sdk.NewClientFromConnectionString(cs, nil)
			break
		}
		cred, kerr := sdk.NewSharedKeyCredential(opts.Account, connStringField(cs, "AccountKey"))
		if kerr != nil {
			return nil, fmt.Errorf("blobstore: AZURE_STORAGE_CONNECTION_STRING: %w", kerr)
		}
		client, err = sdk.NewClientWithSharedKeyCredential(serviceURL, cred, nil)
	case key != "":
		cred, kerr := sdk.NewSharedKeyCredential(opts.Account, key)
		if kerr != nil {
			return nil, fmt.Errorf("blobstore: AZURE_STORAGE_KEY: %w", kerr)
		}
		client, err = sdk.NewClientWithSharedKeyCredential(serviceURL, cred, nil)
	default:
		cred, cerr := azidentity.NewDefaultAzureCredential(nil)
		if cerr != nil {
			return nil, fmt.Errorf("blobstore: azure credentials: %w", cerr)
		}
		client, err = sdk.NewClient(serviceURL, cred, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: azure blob client: %w", err)
	}
	return &Store{client: client, opts: opts}, nil
}

// connStringField returns a field of an Azure Storage connection string
// (Key=Value pairs separated by semicolons).
func connStringField(cs, name string) string {
	for part := range strings.SplitSeq(cs, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// String is the store's URL (no credentials are ever in it).
func (a *Store) String() string {
	u := "azblob://" + a.opts.Account + "/" + a.opts.Container + "/" + a.opts.Prefix
	if a.opts.Endpoint != "" {
		u += "?endpoint=" + url.QueryEscape(a.opts.Endpoint)
	}
	return u
}

// Put uploads r to key as blocks, committed at the end.
func (a *Store) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := blobstore.ObjectName(a.opts.Prefix, key)
	if err != nil {
		return err
	}
	size := a.opts.BlockSize
	if size == 0 {
		size = 4 << 20
	}
	if _, err := a.client.UploadStream(ctx, a.opts.Container, name, blobstore.ReaderWithContext(ctx, r),
		&sdk.UploadStreamOptions{BlockSize: size, Concurrency: 4}); err != nil {
		return fmt.Errorf("blobstore: put %s/%s: %w", a.opts.Container, name, err)
	}
	return nil
}

// Open reads key from byte offset on (a ranged download).
func (a *Store) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	name, err := blobstore.ObjectName(a.opts.Prefix, key)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.DownloadStream(ctx, a.opts.Container, name, &sdk.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		return nil, fmt.Errorf("blobstore: %s: %w", key, blobstore.ErrNotFound)
	case offset > 0 && bloberror.HasCode(err, bloberror.InvalidRange):
		// The whole blob was read before: nothing is left.
		return io.NopCloser(strings.NewReader("")), nil
	case err != nil:
		return nil, fmt.Errorf("blobstore: get %s/%s: %w", a.opts.Container, name, err)
	}
	return resp.Body, nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (a *Store) List(ctx context.Context, prefix string) ([]blobstore.Object, error) {
	pager := a.client.NewListBlobsFlatPager(a.opts.Container, &container.ListBlobsFlatOptions{Prefix: to.Ptr(a.opts.Prefix + prefix)})
	var objs []blobstore.Object
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("blobstore: list %s/%s: %w", a.opts.Container, a.opts.Prefix+prefix, err)
		}
		for _, b := range page.Segment.BlobItems {
			obj := blobstore.Object{Key: strings.TrimPrefix(*b.Name, a.opts.Prefix)}
			if p := b.Properties; p != nil {
				if p.ContentLength != nil {
					obj.Size = *p.ContentLength
				}
				if p.LastModified != nil {
					obj.Modified = *p.LastModified
				}
			}
			objs = append(objs, obj)
		}
	}
	slices.SortFunc(objs, func(a, b blobstore.Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// Delete removes key and its snapshots; a missing key is not an error.
func (a *Store) Delete(ctx context.Context, key string) error {
	name, err := blobstore.ObjectName(a.opts.Prefix, key)
	if err != nil {
		return err
	}
	_, err = a.client.DeleteBlob(ctx, a.opts.Container, name, &sdk.DeleteBlobOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("blobstore: delete %s/%s: %w", a.opts.Container, name, err)
	}
	return nil
}
