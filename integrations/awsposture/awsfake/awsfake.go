// Package awsfake is a protocol-level FAKE of the AWS APIs aws-posture
// reads, for tests: one httptest server speaking the Query APIs of RDS
// and EC2 Auto Scaling (form requests, XML answers), S3's REST API
// (path-style), and the JSON 1.1 APIs of ACM, Secrets Manager, ECS and
// Application Auto Scaling, so the real aws-sdk-go-v2 clients can be
// pointed at it (BaseEndpoint). It is not AWS.
//
// Semantics enforced (from the service API references):
//   - requests must be signed (SigV4); the service and region are read
//     from the signature's credential scope, and each resource lives in
//     one region;
//   - paging: DescribeDBInstances and DescribeDBClusters answer PageSize
//     entries and a Marker (MaxRecords, when sent, must be 20 to 100);
//     DescribeAutoScalingGroups and DescribePolicies answer PageSize
//     entries and a NextToken (MaxRecords at most 100); ECS's
//     ListClusters and ListServices answer PageSize ARNs and a nextToken
//     (maxResults 1 to 100), DescribeServices takes at most 10 services;
//     DescribeScalableTargets and DescribeScalingPolicies page by
//     NextToken and need a ServiceNamespace; ListBuckets
//     answers PageSize buckets and a ContinuationToken (max-buckets 1 to
//     10000); ListCertificates and ListSecrets answer PageSize entries and
//     a NextToken; a token the fake did not issue is an error;
//   - S3 answers the documented not-found codes for a configuration a
//     bucket lacks (ServerSideEncryptionConfigurationNotFoundError,
//     NoSuchPublicAccessBlockConfiguration, NoSuchLifecycleConfiguration,
//     ReplicationConfigurationNotFoundError, NoSuchTagSet) and NoSuchBucket
//     for an unknown bucket, and PermanentRedirect when a bucket is
//     addressed in a region other than its own;
//   - Deny(operation) answers AccessDenied (Query, S3) or
//     AccessDeniedException (JSON), as AWS does for a missing IAM
//     permission; Throttle(operation, n) answers the next n calls
//     Throttling / SlowDown (503) / ThrottlingException, which the SDK's
//     retryer must retry.
package awsfake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DBInstance is an RDS DB instance.
type DBInstance struct {
	ID, Region          string
	BackupRetentionDays int
	// LatestRestorable is zero when backups are off.
	LatestRestorable                                         time.Time
	Encrypted, DeletionProtection, MultiAZ, AutoMinorUpgrade bool
	// ReplicatedTo is the ARN of the backups' replica in another region.
	ReplicatedTo string
	// KMSKeyID is the key encrypting the storage.
	KMSKeyID string
	Tags     map[string]string
}

// ARN is the instance's ARN.
func (d DBInstance) ARN() string { return "arn:aws:rds:" + d.Region + ":123456789012:db:" + d.ID }

// LifecycleRule is one S3 lifecycle rule.
type LifecycleRule struct {
	Disabled bool
	// Transitions: storage class → days.
	Transitions                          map[string]int
	ExpirationDays, NoncurrentExpireDays int
}

// PublicAccessBlock is a bucket's four flags.
type PublicAccessBlock struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// Bucket is an S3 bucket; nil or empty fields are configurations it lacks.
type Bucket struct {
	Name, Region string
	Tags         map[string]string
	// Encryption is the default SSE algorithm (AES256, aws:kms); empty:
	// none.
	Encryption string
	// Versioning is Enabled, Suspended or empty (never enabled).
	Versioning        string
	PublicAccessBlock *PublicAccessBlock
	Lifecycle         []LifecycleRule
	// ReplicateTo is the destination bucket's ARN; empty: none.
	ReplicateTo string
}

// Certificate is an ACM certificate.
type Certificate struct {
	ARN, Domain, Region string
	NotAfter            time.Time
	Eligible            bool
	Tags                map[string]string
	// KeyType is the key algorithm (RSA_2048 when empty); ListCertificates
	// lists only RSA_1024 and RSA_2048 ones unless Includes.KeyTypes says.
	KeyType string
}

// Secret is a Secrets Manager secret.
type Secret struct {
	Name, Region         string
	RotationEnabled      bool
	Created, LastRotated time.Time
	Tags                 map[string]string
}

// ARN is the secret's ARN.
func (s Secret) ARN() string {
	return "arn:aws:secretsmanager:" + s.Region + ":123456789012:secret:" + s.Name + "-AbCdEf"
}

// Server is a running fake.
type Server struct {
	URL string
	// PageSize is how many entries a page of a list holds (default 100).
	PageSize int

	mu           sync.Mutex
	instances    []DBInstance
	buckets      []Bucket
	certificates []Certificate
	secrets      []Secret
	clusters     []DBCluster
	groups       []AutoScalingGroup
	services     []ECSService
	deny         map[string]bool
	throttle     map[string]int
	calls        []string
	tokens       map[string]int
}

// Start serves the fake until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{PageSize: 100, deny: map[string]bool{}, throttle: map[string]int{}, tokens: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddDBInstance, AddBucket, AddCertificate and AddSecret add resources.
func (s *Server) AddDBInstance(d ...DBInstance) { add(s, &s.instances, d) }

// AddBucket adds buckets.
func (s *Server) AddBucket(b ...Bucket) { add(s, &s.buckets, b) }

// AddCertificate adds certificates.
func (s *Server) AddCertificate(c ...Certificate) { add(s, &s.certificates, c) }

// AddSecret adds secrets.
func (s *Server) AddSecret(x ...Secret) { add(s, &s.secrets, x) }

// add appends items to one of the fake's lists.
func add[T any](s *Server, list *[]T, items []T) {
	s.mu.Lock()
	*list = append(*list, items...)
	s.mu.Unlock()
}

// Deny makes an operation (DescribeDBInstances, GetBucketVersioning…)
// answer access denied.
func (s *Server) Deny(operation string) { s.mu.Lock(); s.deny[operation] = true; s.mu.Unlock() }

// Throttle makes the next n calls of an operation answer throttled.
func (s *Server) Throttle(operation string, n int) {
	s.mu.Lock()
	s.throttle[operation] = n
	s.mu.Unlock()
}

// Calls lists the operations served, in order, as SERVICE:OPERATION@REGION
// (throttled and denied ones too).
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Count is how many calls of operation were served.
func (s *Server) Count(operation string) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.Contains(c, ":"+operation+"@") {
			n++
		}
	}
	return n
}

var scope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

type apiError struct {
	status    int
	code, msg string
}

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := scope.FindStringSubmatch(r.Header.Get("Authorization"))
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || m == nil {
		w.WriteHeader(403)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error></ErrorResponse>`)
		return
	}
	region, service := m[1], m[2]
	switch service {
	case "rds", "autoscaling":
		s.serveQuery(w, r, service, region)
	case "s3":
		s.serveS3(w, r, region)
	case "acm", "secretsmanager", "ecs", "application-autoscaling":
		s.serveJSON(w, r, service, region)
	default:
		http.Error(w, "service "+service+" is not implemented by this fake", 400)
	}
}

// gate records a call and applies Deny and Throttle; nil: serve it.
func (s *Server) gate(service, op, region string, throttled *apiError) *apiError {
	s.calls = append(s.calls, service+":"+op+"@"+region)
	if s.deny[op] {
		return fail(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/test is not authorized to perform: %s:%s", service, op)
	}
	if s.throttle[op] > 0 {
		s.throttle[op]--
		return throttled
	}
	return nil
}

// page returns the slice of n entries a paging token points at and the
// next token ("" on the last page).
func (s *Server) page(op, token string, n, size int) (start, end int, next string, err *apiError) {
	if token != "" {
		i, ok := s.tokens[op+"/"+token]
		if !ok {
			return 0, 0, "", fail(400, "InvalidParameterValue", "invalid pagination token %q", token)
		}
		start = i
	}
	end = min(start+size, n)
	if end < n {
		next = fmt.Sprintf("tok%d", len(s.tokens)+1)
		s.tokens[op+"/"+next] = end
	}
	return start, end, next, nil
}

func esc(v string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(v))
	return b.String()
}

func tagXML(tags map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(tags) {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", esc(k), esc(tags[k]))
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// --- RDS and EC2 Auto Scaling (Query) ---

// queryAPIs are the Query APIs served: version and XML namespace.
var queryAPIs = map[string]struct{ version, xmlns string }{
	"rds":         {"2014-10-31", "http://rds.amazonaws.com/doc/2014-10-31/"},
	"autoscaling": {"2011-01-01", "http://autoscaling.amazonaws.com/doc/2011-01-01/"},
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, service, region string) {
	api := queryAPIs[service]
	writeErr := func(e *apiError) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`, api.xmlns, e.code, esc(e.msg))
	}
	if err := r.ParseForm(); err != nil {
		writeErr(fail(400, "MalformedQueryString", "%v", err))
		return
	}
	op := r.PostForm.Get("Action")
	if r.PostForm.Get("Version") != api.version {
		writeErr(fail(400, "InvalidAction", "unsupported version %q", r.PostForm.Get("Version")))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.gate(service, op, region, fail(400, "Throttling", "Rate exceeded")); e != nil {
		writeErr(e)
		return
	}
	var body string
	var e *apiError
	switch service + ":" + op {
	case "rds:DescribeDBInstances":
		body, e = s.describeDBInstances(r.PostForm, region)
	case "rds:DescribeDBClusters":
		body, e = s.describeDBClusters(r.PostForm, region)
	case "autoscaling:DescribeAutoScalingGroups":
		body, e = s.describeGroups(r.PostForm, region)
	case "autoscaling:DescribePolicies":
		body, e = s.describePolicies(r.PostForm, region)
	default:
		e = fail(400, "InvalidAction", "%s is not implemented by this fake", op)
	}
	if e != nil {
		writeErr(e)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></%sResponse>`, op, api.xmlns, op, body, op, op)
}

// rdsPageSize is the page size a DescribeDB… call asks for.
func (s *Server) rdsPageSize(form url.Values) (int, *apiError) {
	size := s.PageSize
	if v := form.Get("MaxRecords"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 || n > 100 {
			return 0, fail(400, "InvalidParameterValue", "Invalid value %s for MaxRecords. Must be between 20 and 100", v)
		}
		size = min(size, n)
	}
	return size, nil
}

func restorableXML(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return "<LatestRestorableTime>" + t.UTC().Format(time.RFC3339) + "</LatestRestorableTime>"
}

func (s *Server) describeDBInstances(form url.Values, region string) (string, *apiError) {
	size, e := s.rdsPageSize(form)
	if e != nil {
		return "", e
	}
	in := keep(s.instances, func(d DBInstance) bool { return d.Region == region })
	return queryPage(s, "DescribeDBInstances", form.Get("Marker"), size, in, "DBInstances", "Marker", func(b *strings.Builder, d DBInstance) {
		rep := ""
		if d.ReplicatedTo != "" {
			rep = "<DBInstanceAutomatedBackupsReplication><DBInstanceAutomatedBackupsArn>" + esc(d.ReplicatedTo) + "</DBInstanceAutomatedBackupsArn></DBInstanceAutomatedBackupsReplication>"
		}
		fmt.Fprintf(b, `<DBInstance><DBInstanceIdentifier>%s</DBInstanceIdentifier><DBInstanceArn>%s</DBInstanceArn><DBInstanceStatus>available</DBInstanceStatus><Engine>postgres</Engine><BackupRetentionPeriod>%d</BackupRetentionPeriod>%s<StorageEncrypted>%t</StorageEncrypted>%s<DeletionProtection>%t</DeletionProtection><MultiAZ>%t</MultiAZ><AutoMinorVersionUpgrade>%t</AutoMinorVersionUpgrade><DBInstanceAutomatedBackupsReplications>%s</DBInstanceAutomatedBackupsReplications><TagList>%s</TagList></DBInstance>`,
			esc(d.ID), esc(d.ARN()), d.BackupRetentionDays, restorableXML(d.LatestRestorable), d.Encrypted, kmsXML(d.KMSKeyID), d.DeletionProtection, d.MultiAZ, d.AutoMinorUpgrade, rep, tagXML(d.Tags))
	})
}

// keep returns the items ok accepts.
func keep[T any](items []T, ok func(T) bool) []T {
	var out []T
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}

// queryPage answers a Query API list call: the page of items its token
// points at, each written by item inside <list>, then the next page's
// token in <tokenTag> unless it is the last.
func queryPage[T any](s *Server, op, token string, size int, items []T, list, tokenTag string, item func(*strings.Builder, T)) (string, *apiError) {
	start, end, next, e := s.page(op, token, len(items), size)
	if e != nil {
		return "", e
	}
	var b strings.Builder
	b.WriteString("<" + list + ">")
	for _, it := range items[start:end] {
		item(&b, it)
	}
	b.WriteString("</" + list + ">")
	if next != "" {
		b.WriteString("<" + tokenTag + ">" + next + "</" + tokenTag + ">")
	}
	return b.String(), nil
}

func kmsXML(id string) string {
	if id == "" {
		return ""
	}
	return "<KmsKeyId>" + esc(id) + "</KmsKeyId>"
}

// --- S3 (REST, path-style) ---

// s3Ops names a bucket GET by its sub-resource.
var s3Ops = []struct{ query, op string }{
	{"tagging", "GetBucketTagging"}, {"encryption", "GetBucketEncryption"}, {"versioning", "GetBucketVersioning"},
	{"publicAccessBlock", "GetPublicAccessBlock"}, {"lifecycle", "GetBucketLifecycleConfiguration"}, {"replication", "GetBucketReplication"},
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request, region string) {
	writeErr := func(e *apiError) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>0</RequestId></Error>`, e.code, esc(e.msg))
	}
	if r.Method != http.MethodGet {
		writeErr(fail(405, "MethodNotAllowed", "this fake serves GET only"))
		return
	}
	name := strings.Trim(r.URL.Path, "/")
	q := r.URL.Query()
	op := ""
	if name == "" {
		op = "ListBuckets"
	}
	for _, o := range s3Ops {
		if name != "" && q.Has(o.query) {
			op = o.op
		}
	}
	if op == "" || strings.Contains(name, "/") {
		writeErr(fail(400, "NotImplemented", "%s %s is not implemented by this fake", r.Method, r.URL.RequestURI()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.gate("s3", op, region, fail(503, "SlowDown", "Please reduce your request rate.")); e != nil {
		writeErr(e)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	if op == "ListBuckets" {
		size := s.PageSize
		if v := q.Get("max-buckets"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				writeErr(fail(400, "InvalidArgument", "max-buckets must be 1 to 10000"))
				return
			}
			size = min(size, n)
		}
		var bs []Bucket
		for _, b := range s.buckets {
			if want := q.Get("bucket-region"); want == "" || b.Region == want {
				bs = append(bs, b)
			}
		}
		start, end, next, e := s.page(op, q.Get("continuation-token"), len(bs), size)
		if e != nil {
			writeErr(e)
			return
		}
		var b strings.Builder
		for _, bk := range bs[start:end] {
			fmt.Fprintf(&b, "<Bucket><Name>%s</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate><BucketRegion>%s</BucketRegion></Bucket>", esc(bk.Name), esc(bk.Region))
		}
		token := ""
		if next != "" {
			token = "<ContinuationToken>" + next + "</ContinuationToken>"
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>owner</ID></Owner><Buckets>%s</Buckets>%s</ListAllMyBucketsResult>`, b.String(), token)
		return
	}
	i := slices.IndexFunc(s.buckets, func(b Bucket) bool { return b.Name == name })
	if i < 0 {
		writeErr(fail(404, "NoSuchBucket", "The specified bucket does not exist"))
		return
	}
	bk := s.buckets[i]
	if bk.Region != region {
		w.Header().Set("x-amz-bucket-region", bk.Region)
		writeErr(fail(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint."))
		return
	}
	const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	switch op {
	case "GetBucketTagging":
		if len(bk.Tags) == 0 {
			writeErr(fail(404, "NoSuchTagSet", "The TagSet does not exist"))
			return
		}
		fmt.Fprintf(w, `<Tagging%s><TagSet>%s</TagSet></Tagging>`, ns, tagXML(bk.Tags))
	case "GetBucketEncryption":
		if bk.Encryption == "" {
			writeErr(fail(404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found"))
			return
		}
		fmt.Fprintf(w, `<ServerSideEncryptionConfiguration%s><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>%s</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`, ns, esc(bk.Encryption))
	case "GetBucketVersioning":
		status := ""
		if bk.Versioning != "" {
			status = "<Status>" + esc(bk.Versioning) + "</Status>"
		}
		fmt.Fprintf(w, `<VersioningConfiguration%s>%s</VersioningConfiguration>`, ns, status)
	case "GetPublicAccessBlock":
		p := bk.PublicAccessBlock
		if p == nil {
			writeErr(fail(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"))
			return
		}
		fmt.Fprintf(w, `<PublicAccessBlockConfiguration%s><BlockPublicAcls>%t</BlockPublicAcls><IgnorePublicAcls>%t</IgnorePublicAcls><BlockPublicPolicy>%t</BlockPublicPolicy><RestrictPublicBuckets>%t</RestrictPublicBuckets></PublicAccessBlockConfiguration>`,
			ns, p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
	case "GetBucketLifecycleConfiguration":
		if len(bk.Lifecycle) == 0 {
			writeErr(fail(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"))
			return
		}
		var b strings.Builder
		for n, rule := range bk.Lifecycle {
			status := "Enabled"
			if rule.Disabled {
				status = "Disabled"
			}
			fmt.Fprintf(&b, "<Rule><ID>rule-%d</ID><Filter><Prefix></Prefix></Filter><Status>%s</Status>", n, status)
			classes := make(map[string]string, len(rule.Transitions))
			for c := range rule.Transitions {
				classes[c] = c
			}
			for _, c := range sortedKeys(classes) {
				fmt.Fprintf(&b, "<Transition><Days>%d</Days><StorageClass>%s</StorageClass></Transition>", rule.Transitions[c], esc(c))
			}
			if rule.ExpirationDays > 0 {
				fmt.Fprintf(&b, "<Expiration><Days>%d</Days></Expiration>", rule.ExpirationDays)
			}
			if rule.NoncurrentExpireDays > 0 {
				fmt.Fprintf(&b, "<NoncurrentVersionExpiration><NoncurrentDays>%d</NoncurrentDays></NoncurrentVersionExpiration>", rule.NoncurrentExpireDays)
			}
			b.WriteString("</Rule>")
		}
		fmt.Fprintf(w, `<LifecycleConfiguration%s>%s</LifecycleConfiguration>`, ns, b.String())
	case "GetBucketReplication":
		if bk.ReplicateTo == "" {
			writeErr(fail(404, "ReplicationConfigurationNotFoundError", "The replication configuration was not found"))
			return
		}
		fmt.Fprintf(w, `<ReplicationConfiguration%s><Role>arn:aws:iam::123456789012:role/replication</Role><Rule><ID>r</ID><Status>Enabled</Status><Priority>1</Priority><Filter><Prefix></Prefix></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>%s</Bucket></Destination></Rule></ReplicationConfiguration>`, ns, esc(bk.ReplicateTo))
	}
}

// --- ACM, Secrets Manager, ECS and Application Auto Scaling (JSON 1.1) ---

// jsonTargets are the X-Amz-Target prefixes of the JSON APIs.
var jsonTargets = map[string]string{"acm": "CertificateManager.", "secretsmanager": "secretsmanager.",
	"ecs": "AmazonEC2ContainerServiceV20141113.", "application-autoscaling": "AnyScaleFrontendService."}

// jsonRequest holds the fields the JSON calls served read. encoding/json
// matches keys without regard to case: ECS writes them in lowerCamelCase,
// the others in UpperCamelCase.
type jsonRequest struct {
	NextToken         string
	MaxItems          int
	MaxResults        int
	CertificateArn    string
	Includes          struct{ KeyTypes []string }
	Cluster           string
	Services          []string
	Include           []string
	ServiceNamespace  string
	ResourceIds       []string
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, service, region string) {
	writeErr := func(e *apiError) {
		code := e.code
		if code == "AccessDenied" {
			code = "AccessDeniedException"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": e.msg})
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, jsonTargets[service])
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		writeErr(fail(400, "UnknownOperationException", "target %q, content type %q", target, r.Header.Get("Content-Type")))
		return
	}
	var req jsonRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(fail(400, "SerializationException", "%v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.gate(service, op, region, fail(400, "ThrottlingException", "Rate exceeded")); e != nil {
		writeErr(e)
		return
	}
	var resp any
	switch service + ":" + op {
	case "acm:ListCertificates":
		types := req.Includes.KeyTypes
		if len(types) == 0 {
			types = []string{"RSA_1024", "RSA_2048"}
		}
		certs := keep(s.certificates, func(c Certificate) bool {
			kt := c.KeyType
			if kt == "" {
				kt = "RSA_2048"
			}
			return c.Region == region && slices.Contains(types, kt)
		})
		var e *apiError
		if resp, e = jsonPage(s, op, req.NextToken, s.PageSize, certs, "CertificateSummaryList", "NextToken", "InvalidArgsException", func(c Certificate) any {
			return map[string]any{"CertificateArn": c.ARN, "DomainName": c.Domain}
		}); e != nil {
			writeErr(e)
			return
		}
	case "acm:DescribeCertificate", "acm:ListTagsForCertificate":
		i := slices.IndexFunc(s.certificates, func(c Certificate) bool { return c.ARN == req.CertificateArn && c.Region == region })
		if i < 0 {
			writeErr(fail(400, "ResourceNotFoundException", "Could not find certificate %s.", req.CertificateArn))
			return
		}
		c := s.certificates[i]
		if op == "ListTagsForCertificate" {
			var tags []map[string]string
			for _, k := range sortedKeys(c.Tags) {
				tags = append(tags, map[string]string{"Key": k, "Value": c.Tags[k]})
			}
			resp = map[string]any{"Tags": tags}
			break
		}
		eligible := "INELIGIBLE"
		if c.Eligible {
			eligible = "ELIGIBLE"
		}
		resp = map[string]any{"Certificate": map[string]any{"CertificateArn": c.ARN, "DomainName": c.Domain, "NotAfter": c.NotAfter.Unix(),
			"RenewalEligibility": eligible, "Status": "ISSUED", "Type": "AMAZON_ISSUED"}}
	case "secretsmanager:ListSecrets":
		secrets := keep(s.secrets, func(x Secret) bool { return x.Region == region })
		size := s.PageSize
		if req.MaxResults > 0 {
			size = min(size, req.MaxResults)
		}
		var e *apiError
		if resp, e = jsonPage(s, op, req.NextToken, size, secrets, "SecretList", "NextToken", "InvalidNextTokenException", func(x Secret) any {
			var tags []map[string]string
			for _, k := range sortedKeys(x.Tags) {
				tags = append(tags, map[string]string{"Key": k, "Value": x.Tags[k]})
			}
			e := map[string]any{"ARN": x.ARN(), "Name": x.Name, "RotationEnabled": x.RotationEnabled, "CreatedDate": x.Created.Unix(), "Tags": tags}
			if !x.LastRotated.IsZero() {
				e["LastRotatedDate"] = x.LastRotated.Unix()
			}
			return e
		}); e != nil {
			writeErr(e)
			return
		}
	default:
		var e *apiError
		if resp, e = s.capacity(service+":"+op, req, region); e != nil {
			writeErr(e)
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(resp)
}
