// Package s3 keeps backups in an S3 bucket or an S3-compatible store
// (MinIO, R2, Ceph).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/shipshape-dev/shipshape/integrations/blobstore"
)

// Options says which bucket an S3 store uses and how to reach it.
type Options struct {
	Bucket string
	// Prefix is prepended to every key ("backups/" keeps objects under
	// backups/); empty for the bucket's root.
	Prefix string
	// Region overrides the region of the AWS configuration (AWS_REGION,
	// ~/.aws/config).
	Region string
	// Endpoint is the base URL of an S3-compatible store (MinIO, R2,
	// Ceph): http://127.0.0.1:9000. Empty for AWS itself.
	Endpoint string
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint; most S3-compatible stores need it.
	PathStyle bool
	// SSE asks S3 to encrypt objects at rest: "AES256" (S3-managed keys)
	// or "aws:kms" (KMS, with KMSKeyID or the account's default key).
	SSE      string
	KMSKeyID string
	// PartSize is the size of a multipart upload's parts in bytes (at
	// least 5 MiB; 0 for the transfer manager's default, 8 MiB). Objects
	// above one part are uploaded in parts, a few at a time, so an upload
	// holds at most a few parts in memory whatever the object's size.
	PartSize int64
	// Logger receives the AWS SDK's own warnings and debug notes; nil
	// discards them.
	Logger *slog.Logger
}

// minPartSize is S3's smallest multipart part (but the last).
const minPartSize = 5 << 20

// ParseURL reads a storage URL of the form
//
//	s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:9000&pathStyle=true&sse=aws:kms&kmsKeyId=alias/backups&partSize=16777216
//
// Every query parameter is optional. Credentials never go in the URL:
// they come from the AWS SDK's default chain (environment, shared
// config and credentials files, SSO, web identity, instance and task
// roles).
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, fmt.Errorf("s3 url: %w", err)
	}
	if u.Scheme != "s3" {
		return Options{}, fmt.Errorf("s3 url %q: scheme must be s3", raw)
	}
	if u.User != nil {
		return Options{}, fmt.Errorf("s3 url: credentials do not belong in the URL; use the AWS environment or config files")
	}
	o := Options{Bucket: u.Host, Prefix: strings.TrimPrefix(u.Path, "/")}
	if o.Bucket == "" {
		return Options{}, fmt.Errorf("s3 url %q: no bucket (s3://bucket/prefix)", raw)
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "region":
			o.Region = v
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Options{}, fmt.Errorf("s3 url: endpoint %q: want http(s)://host[:port]", v)
			}
			if e.User != nil {
				return Options{}, fmt.Errorf("s3 url: endpoint: credentials do not belong in the URL; use the environment or config files")
			}
			o.Endpoint = v
		case "pathStyle":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Options{}, fmt.Errorf("s3 url: pathStyle %q: want true or false", v)
			}
			o.PathStyle = b
		case "sse":
			if v != "AES256" && v != "aws:kms" {
				return Options{}, fmt.Errorf("s3 url: sse %q: want AES256 or aws:kms", v)
			}
			o.SSE = v
		case "kmsKeyId":
			o.KMSKeyID = v
		case "partSize":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < minPartSize {
				return Options{}, fmt.Errorf("s3 url: partSize %q: want a byte count of at least %d (5 MiB)", v, minPartSize)
			}
			o.PartSize = n
		default:
			return Options{}, fmt.Errorf("s3 url: unknown parameter %q (want region, endpoint, pathStyle, sse, kmsKeyId or partSize)", k)
		}
	}
	if o.KMSKeyID != "" && o.SSE != "aws:kms" {
		return Options{}, fmt.Errorf("s3 url: kmsKeyId needs sse=aws:kms")
	}
	return o, nil
}

// Store keeps objects in an S3 bucket, or an S3-compatible store, under a
// prefix. Uploads go through the transfer manager (multipart above one
// part, aborted on failure), so an object appears whole or not at all.
type Store struct {
	client *awss3.Client
	up     *transfermanager.Client
	opts   Options
}

// New returns a store for opts with the AWS SDK's default
// configuration and credentials chain.
func New(ctx context.Context, opts Options) (*Store, error) {
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("blobstore: aws config: %w", err)
	}
	if cfg.Region == "" {
		if opts.Endpoint == "" {
			return nil, errors.New("blobstore: s3: no region: set AWS_REGION or ?region= in the storage URL")
		}
		cfg.Region = "us-east-1" // S3-compatible stores mostly ignore it, but it is signed
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		o.Logger = sdkLogger{opts.Logger}
	})
	return &Store{
		client: client,
		up: transfermanager.New(client, func(o *transfermanager.Options) {
			if opts.PartSize > 0 {
				o.PartSizeBytes = opts.PartSize
				o.MultipartUploadThreshold = opts.PartSize
			}
		}),
		opts: opts,
	}, nil
}

// String is the store's URL (no credentials are ever in it).
func (s *Store) String() string {
	u := "s3://" + s.opts.Bucket + "/" + s.opts.Prefix
	if s.opts.Endpoint != "" {
		u += "?endpoint=" + url.QueryEscape(s.opts.Endpoint)
	}
	return u
}

// Put uploads r to key, in parts when it is larger than one.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	k, err := blobstore.ObjectName(s.opts.Prefix, key)
	if err != nil {
		return err
	}
	in := &transfermanager.UploadObjectInput{Bucket: &s.opts.Bucket, Key: &k, Body: blobstore.ReaderWithContext(ctx, r)}
	if s.opts.SSE != "" {
		in.ServerSideEncryption = tmtypes.ServerSideEncryption(s.opts.SSE)
	}
	if s.opts.KMSKeyID != "" {
		in.SSEKMSKeyID = &s.opts.KMSKeyID
	}
	if _, err := s.up.UploadObject(ctx, in); err != nil {
		return fmt.Errorf("blobstore: put s3://%s/%s: %w", s.opts.Bucket, k, err)
	}
	return nil
}

// Open reads key from byte offset on (a ranged GET).
func (s *Store) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	k, err := blobstore.ObjectName(s.opts.Prefix, key)
	if err != nil {
		return nil, err
	}
	in := &awss3.GetObjectInput{Bucket: &s.opts.Bucket, Key: &k}
	var opt []func(*awss3.Options)
	if offset > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(offset, 10) + "-")
		// A whole-object checksum cannot check part of the object (S3
		// sends none with a range; some compatible stores send the
		// whole object's). Backups carry their own SHA-256, checked
		// over the whole download.
		opt = append(opt, func(o *awss3.Options) { o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired })
	}
	out, err := s.client.GetObject(ctx, in, opt...)
	if err != nil {
		var noKey *s3types.NoSuchKey
		var api smithy.APIError
		switch {
		case errors.As(err, &noKey):
			return nil, fmt.Errorf("blobstore: %s: %w", key, blobstore.ErrNotFound)
		case offset > 0 && errors.As(err, &api) && api.ErrorCode() == "InvalidRange":
			// The whole object was read before: nothing is left.
			if _, herr := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.opts.Bucket, Key: &k}); herr == nil {
				return io.NopCloser(strings.NewReader("")), nil
			}
		}
		return nil, fmt.Errorf("blobstore: get s3://%s/%s: %w", s.opts.Bucket, k, err)
	}
	return out.Body, nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]blobstore.Object, error) {
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket: &s.opts.Bucket, Prefix: aws.String(s.opts.Prefix + prefix),
	})
	var objs []blobstore.Object
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("blobstore: list s3://%s/%s: %w", s.opts.Bucket, s.opts.Prefix+prefix, err)
		}
		for _, o := range page.Contents {
			obj := blobstore.Object{Key: strings.TrimPrefix(aws.ToString(o.Key), s.opts.Prefix), Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				obj.Modified = *o.LastModified
			}
			objs = append(objs, obj)
		}
	}
	slices.SortFunc(objs, func(a, b blobstore.Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// Delete removes key; S3 treats a missing key as deleted.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := blobstore.ObjectName(s.opts.Prefix, key)
	if err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.opts.Bucket, Key: &k}); err != nil {
		return fmt.Errorf("blobstore: delete s3://%s/%s: %w", s.opts.Bucket, k, err)
	}
	return nil
}

// sdkLogger passes the AWS SDK's log lines to slog: warnings as
// warnings, the rest at debug level.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if s.l == nil {
		return
	}
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	s.l.Log(context.Background(), level, fmt.Sprintf(format, v...), slog.String("component", "aws-sdk"))
}
