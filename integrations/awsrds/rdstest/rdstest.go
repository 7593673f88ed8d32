// Package rdstest is a protocol-level fake of Amazon RDS: an httptest
// server speaking the RDS Query API (form-encoded Action requests, XML
// responses, API version 2014-10-31) for the operations a restore drill
// uses, so the real aws-sdk-go-v2 RDS client can be tested against it. It
// is not AWS: a restored instance's endpoint is a PostgreSQL server the
// test gives (holding the snapshot's data), and a new master password is
// applied to it through a hook.
//
// Semantics enforced (from the RDS API reference):
//   - requests must be signed (SigV4);
//   - instance states move creating → available, available →
//     resetting-master-credentials → available after ModifyDBInstance
//     with a MasterUserPassword (the password is pending until then), and
//     deleting → gone; each transition takes Steps describes of the
//     instance;
//   - restoring from an unknown snapshot is DBSnapshotNotFound, from one
//     not available InvalidDBSnapshotState, into an identifier in use
//     DBInstanceAlreadyExists; identifiers are 1 to 63 letters, digits
//     and hyphens, starting with a letter, without "--" or a trailing
//     hyphen;
//   - ModifyDBInstance and DeleteDBInstance on an instance that is not
//     available are InvalidDBInstanceState (deleting one being deleted
//     too); DeleteDBInstance needs SkipFinalSnapshot or a final snapshot
//     identifier (InvalidParameterCombination);
//   - an unknown instance is DBInstanceNotFound;
//   - RestoreDBInstanceToPointInTime (of a source instance added with
//     AddSource) needs a valid TargetDBInstanceIdentifier and
//     SourceDBInstanceIdentifier (this fake does not take
//     SourceDbiResourceId nor SourceDBInstanceAutomatedBackupsArn), and
//     exactly one of RestoreTime and UseLatestRestorableTime
//     (InvalidParameterCombination); a target in use is
//     DBInstanceAlreadyExists, an unknown source DBInstanceNotFound, a
//     source with backup retention 0 PointInTimeRestoreNotEnabled, and a
//     RestoreTime outside the source's restore window (its automated
//     backups' earliest time to its LatestRestorableTime) InvalidRestoreFault;
//   - DescribeDBInstances of a source gives its BackupRetentionPeriod and
//     LatestRestorableTime, DescribeDBInstanceAutomatedBackups its
//     RestoreWindow (none when retention is 0).
package rdstest

import (
	"encoding/xml"
	"fmt"
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

	"github.com/shipshape-dev/shipshape/internal/awstest"
)

// Snapshot is a DB snapshot the fake holds.
type Snapshot struct {
	ID, Instance, Status, User string
	Created                    time.Time
}

// Server is a running fake.
type Server struct {
	URL string
	// Host and Port are every restored instance's endpoint.
	Host string
	Port int
	// Steps is how many describes a transition takes (default 2).
	Steps int
	// OnPassword applies a master password that became effective.
	OnPassword func(user, password string) error

	mu        sync.Mutex
	snapshots []Snapshot
	instances map[string]*instance
	sources   map[string]Source
	calls     []string
}

// Source is a DB instance the fake holds as the source of point-in-time
// restores: its master user, backup retention (days; 0: no point-in-time
// recovery) and restore window.
type Source struct {
	ID, User         string
	RetentionDays    int
	Earliest, Latest time.Time
}

// AddSource adds (or replaces) a source instance.
func (s *Server) AddSource(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources[src.ID] = src
}

// RestoredPoint says to which point instance id was restored: latest is
// true for UseLatestRestorableTime; ok is false when id was not restored
// to a point in time.
func (s *Server) RestoredPoint(id string) (point time.Time, latest, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, found := s.instances[id]
	if !found || in.source == "" {
		return time.Time{}, false, false
	}
	return in.point, in.point.IsZero(), true
}

type instance struct {
	id, status, user, snapshot string
	pendingPassword            *string
	tags                       map[string]string
	left                       int
	// source and point: a point-in-time restore's (point zero: latest).
	source string
	point  time.Time
}

// Start serves the fake until the test ends and points the AWS SDK at it
// (AWS_ENDPOINT_URL_RDS and static credentials in the environment).
func Start(t testing.TB, host string, port int, snapshots ...Snapshot) *Server {
	t.Helper()
	s := &Server{Host: host, Port: port, Steps: 2, snapshots: snapshots, instances: map[string]*instance{}, sources: map[string]Source{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	awstest.Credentials(t)
	t.Setenv("AWS_ENDPOINT_URL_RDS", srv.URL)
	return s
}

// Instances lists the instances that exist, with their states.
func (s *Server) Instances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, in := range s.instances {
		out = append(out, id+":"+in.status)
	}
	sort.Strings(out)
	return out
}

// Calls lists the actions served, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

type rdsError struct {
	status    int
	Code, Msg string
	kind      string
}

func fault(status int, code, format string, args ...any) *rdsError {
	return &rdsError{status: status, Code: code, Msg: fmt.Sprintf(format, args...), kind: "Sender"}
}

var identifier = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,62}$`)

func validID(id string) bool {
	return identifier.MatchString(id) && !strings.Contains(id, "--") && !strings.HasSuffix(id, "-")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeErr(w, fault(403, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeErr(w, fault(400, "MalformedQueryString", "%v", err))
		return
	}
	action := r.PostForm.Get("Action")
	if r.PostForm.Get("Version") != "2014-10-31" {
		writeErr(w, fault(400, "InvalidAction", "unsupported version %q", r.PostForm.Get("Version")))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, action)
	var body string
	var rerr *rdsError
	switch action {
	case "DescribeDBSnapshots":
		body, rerr = s.describeSnapshots(r)
	case "RestoreDBInstanceFromDBSnapshot":
		body, rerr = s.restore(r)
	case "RestoreDBInstanceToPointInTime":
		body, rerr = s.restoreToPoint(r)
	case "DescribeDBInstanceAutomatedBackups":
		body, rerr = s.describeAutomatedBackups(r)
	case "DescribeDBInstances":
		body, rerr = s.describeInstances(r)
	case "ModifyDBInstance":
		body, rerr = s.modify(r)
	case "DeleteDBInstance":
		body, rerr = s.delete(r)
	default:
		rerr = fault(400, "InvalidAction", "%s is not implemented by this fake", action)
	}
	if rerr != nil {
		writeErr(w, rerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></%sResponse>`,
		action, action, body, action, action)
}

func writeErr(w http.ResponseWriter, e *rdsError) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
		e.kind, e.Code, esc(e.Msg))
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) describeSnapshots(r *http.Request) (string, *rdsError) {
	inst, id := r.PostForm.Get("DBInstanceIdentifier"), r.PostForm.Get("DBSnapshotIdentifier")
	var b strings.Builder
	found := false
	for _, sn := range s.snapshots {
		if inst != "" && sn.Instance != inst || id != "" && sn.ID != id {
			continue
		}
		found = true
		fmt.Fprintf(&b, `<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>%s</DBInstanceIdentifier><SnapshotCreateTime>%s</SnapshotCreateTime><Status>%s</Status><Engine>postgres</Engine><MasterUsername>%s</MasterUsername><SnapshotType>automated</SnapshotType></DBSnapshot>`,
			esc(sn.ID), esc(sn.Instance), sn.Created.UTC().Format(time.RFC3339), esc(sn.Status), esc(sn.User))
	}
	if id != "" && !found {
		return "", fault(404, "DBSnapshotNotFound", "DBSnapshot %s not found.", id)
	}
	return "<DBSnapshots>" + b.String() + "</DBSnapshots>", nil
}

func (s *Server) instanceXML(in *instance) string {
	var tags strings.Builder
	for k, v := range in.tags {
		fmt.Fprintf(&tags, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", esc(k), esc(v))
	}
	pending := ""
	if in.pendingPassword != nil {
		pending = "<MasterUserPassword>****</MasterUserPassword>"
	}
	endpoint := ""
	if in.status != "creating" {
		endpoint = fmt.Sprintf("<Endpoint><Address>%s</Address><Port>%d</Port></Endpoint>", esc(s.Host), s.Port)
	}
	return fmt.Sprintf(`<DBInstance><DBInstanceIdentifier>%s</DBInstanceIdentifier><DBInstanceStatus>%s</DBInstanceStatus><Engine>postgres</Engine><MasterUsername>%s</MasterUsername>%s<PendingModifiedValues>%s</PendingModifiedValues><TagList>%s</TagList></DBInstance>`,
		esc(in.id), esc(in.status), esc(in.user), endpoint, pending, tags.String())
}

var tagParam = regexp.MustCompile(`^Tags\.(?:Tag|member)\.(\d+)\.(Key|Value)$`)

func (s *Server) restore(r *http.Request) (string, *rdsError) {
	id, snap := r.PostForm.Get("DBInstanceIdentifier"), r.PostForm.Get("DBSnapshotIdentifier")
	if !validID(id) {
		return "", fault(400, "InvalidParameterValue", "The parameter DBInstanceIdentifier is not a valid identifier.")
	}
	i := slices.IndexFunc(s.snapshots, func(sn Snapshot) bool { return sn.ID == snap })
	if i < 0 {
		return "", fault(404, "DBSnapshotNotFound", "DBSnapshot %s not found.", snap)
	}
	if s.snapshots[i].Status != "available" {
		return "", fault(400, "InvalidDBSnapshotState", "Snapshot %s is not available.", snap)
	}
	if _, ok := s.instances[id]; ok {
		return "", fault(400, "DBInstanceAlreadyExists", "DB instance already exists")
	}
	in := &instance{id: id, status: "creating", user: s.snapshots[i].User, snapshot: snap, tags: requestTags(r.PostForm), left: s.Steps}
	s.instances[id] = in
	return s.instanceXML(in), nil
}

// advance moves an instance one describe along its transition.
func (s *Server) advance(in *instance) error {
	if in.left > 0 {
		in.left--
		return nil
	}
	switch in.status {
	case "creating":
		in.status = "available"
	case "resetting-master-credentials":
		if s.OnPassword != nil {
			if err := s.OnPassword(in.user, *in.pendingPassword); err != nil {
				return err
			}
		}
		in.pendingPassword, in.status = nil, "available"
	case "deleting":
		delete(s.instances, in.id)
	}
	return nil
}

func (s *Server) describeInstances(r *http.Request) (string, *rdsError) {
	id := r.PostForm.Get("DBInstanceIdentifier")
	var ids []string
	if src, ok := s.sources[id]; ok && id != "" {
		return "<DBInstances>" + sourceXML(src) + "</DBInstances>", nil
	}
	if id != "" {
		in, ok := s.instances[id]
		if !ok {
			return "", fault(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
		}
		if err := s.advance(in); err != nil {
			return "", fault(500, "InternalFailure", "%v", err)
		}
		if _, ok := s.instances[id]; !ok {
			return "", fault(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
		}
		ids = []string{id}
	} else {
		for k := range s.instances {
			ids = append(ids, k)
		}
		sort.Strings(ids)
	}
	var b strings.Builder
	for _, k := range ids {
		b.WriteString(s.instanceXML(s.instances[k]))
	}
	if id == "" {
		var names []string
		for k := range s.sources {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			b.WriteString(sourceXML(s.sources[k]))
		}
	}
	return "<DBInstances>" + b.String() + "</DBInstances>", nil
}

func (s *Server) modify(r *http.Request) (string, *rdsError) {
	id := r.PostForm.Get("DBInstanceIdentifier")
	in, ok := s.instances[id]
	if !ok {
		return "", fault(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	if in.status != "available" {
		return "", fault(400, "InvalidDBInstanceState", "Instance %s is not available: %s.", id, in.status)
	}
	if pw := r.PostForm.Get("MasterUserPassword"); pw != "" {
		if len(pw) < 8 || len(pw) > 128 {
			return "", fault(400, "InvalidParameterValue", "The parameter MasterUserPassword is not a valid password.")
		}
		if apply, _ := strconv.ParseBool(r.PostForm.Get("ApplyImmediately")); !apply {
			return "", fault(400, "InvalidParameterCombination", "this fake applies a master password only with ApplyImmediately")
		}
		in.pendingPassword, in.status, in.left = &pw, "resetting-master-credentials", s.Steps
	}
	return s.instanceXML(in), nil
}

func (s *Server) delete(r *http.Request) (string, *rdsError) {
	id := r.PostForm.Get("DBInstanceIdentifier")
	in, ok := s.instances[id]
	if !ok {
		return "", fault(404, "DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	if skip, _ := strconv.ParseBool(r.PostForm.Get("SkipFinalSnapshot")); !skip && r.PostForm.Get("FinalDBSnapshotIdentifier") == "" {
		return "", fault(400, "InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	}
	if in.status == "deleting" {
		return "", fault(400, "InvalidDBInstanceState", "Instance %s is already being deleted.", id)
	}
	if in.status != "available" {
		return "", fault(400, "InvalidDBInstanceState", "Instance %s is not in available state.", id)
	}
	in.status, in.left = "deleting", s.Steps
	return s.instanceXML(in), nil
}

func sourceXML(src Source) string {
	latest := ""
	if src.RetentionDays > 0 {
		latest = "<LatestRestorableTime>" + src.Latest.UTC().Format(time.RFC3339) + "</LatestRestorableTime>"
	}
	return fmt.Sprintf(`<DBInstance><DBInstanceIdentifier>%s</DBInstanceIdentifier><DBInstanceStatus>available</DBInstanceStatus><Engine>postgres</Engine><MasterUsername>%s</MasterUsername><BackupRetentionPeriod>%d</BackupRetentionPeriod>%s<TagList></TagList></DBInstance>`,
		esc(src.ID), esc(src.User), src.RetentionDays, latest)
}

func (s *Server) describeAutomatedBackups(r *http.Request) (string, *rdsError) {
	id := r.PostForm.Get("DBInstanceIdentifier")
	var b strings.Builder
	for _, src := range s.sources {
		if id != "" && src.ID != id || src.RetentionDays == 0 {
			continue
		}
		fmt.Fprintf(&b, `<DBInstanceAutomatedBackup><DBInstanceIdentifier>%s</DBInstanceIdentifier><Status>active</Status><Engine>postgres</Engine><BackupRetentionPeriod>%d</BackupRetentionPeriod><RestoreWindow><EarliestTime>%s</EarliestTime><LatestTime>%s</LatestTime></RestoreWindow></DBInstanceAutomatedBackup>`,
			esc(src.ID), src.RetentionDays, src.Earliest.UTC().Format(time.RFC3339), src.Latest.UTC().Format(time.RFC3339))
	}
	if id != "" && b.Len() == 0 {
		if _, ok := s.sources[id]; !ok {
			return "", fault(404, "DBInstanceAutomatedBackupNotFound", "No automated backup found for %s.", id)
		}
	}
	return "<DBInstanceAutomatedBackups>" + b.String() + "</DBInstanceAutomatedBackups>", nil
}

func (s *Server) restoreToPoint(r *http.Request) (string, *rdsError) {
	f := r.PostForm
	id, source := f.Get("TargetDBInstanceIdentifier"), f.Get("SourceDBInstanceIdentifier")
	if !validID(id) {
		return "", fault(400, "InvalidParameterValue", "The parameter TargetDBInstanceIdentifier is not a valid identifier.")
	}
	if source == "" {
		if f.Get("SourceDbiResourceId") != "" || f.Get("SourceDBInstanceAutomatedBackupsArn") != "" {
			return "", fault(400, "InvalidParameterCombination", "this fake restores only from SourceDBInstanceIdentifier")
		}
		return "", fault(400, "InvalidParameterCombination", "One of SourceDBInstanceIdentifier, SourceDbiResourceId or SourceDBInstanceAutomatedBackupsArn is required.")
	}
	latest, _ := strconv.ParseBool(f.Get("UseLatestRestorableTime"))
	at := f.Get("RestoreTime")
	switch {
	case latest && at != "":
		return "", fault(400, "InvalidParameterCombination", "RestoreTime can't be specified with UseLatestRestorableTime.")
	case !latest && at == "":
		return "", fault(400, "InvalidParameterCombination", "Either RestoreTime or UseLatestRestorableTime must be specified.")
	}
	var point time.Time
	if at != "" {
		var err error
		if point, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return "", fault(400, "InvalidParameterValue", "The parameter RestoreTime is not a valid timestamp: %s.", at)
		}
	}
	if _, ok := s.instances[id]; ok {
		return "", fault(400, "DBInstanceAlreadyExists", "DB instance already exists")
	}
	if _, ok := s.sources[id]; ok {
		return "", fault(400, "DBInstanceAlreadyExists", "DB instance already exists")
	}
	src, ok := s.sources[source]
	if !ok {
		return "", fault(404, "DBInstanceNotFound", "DBInstance %s not found.", source)
	}
	if src.RetentionDays == 0 {
		return "", fault(400, "PointInTimeRestoreNotEnabled", "Point-in-time restore is not enabled for %s: its backup retention period is 0.", source)
	}
	if !point.IsZero() && (point.Before(src.Earliest) || point.After(src.Latest)) {
		return "", fault(400, "InvalidRestoreFault", "Restore time %s is outside the restorable window %s to %s of %s.",
			point.UTC().Format(time.RFC3339), src.Earliest.UTC().Format(time.RFC3339), src.Latest.UTC().Format(time.RFC3339), source)
	}
	in := &instance{id: id, status: "creating", user: src.User, tags: requestTags(f), left: s.Steps, source: source, point: point}
	s.instances[id] = in
	return s.instanceXML(in), nil
}

// requestTags reads a request's Tags.Tag.N.Key/Value (or Tags.member.N).
func requestTags(f url.Values) map[string]string {
	tags := map[string]string{}
	keys := map[string]string{}
	for k, v := range f {
		if m := tagParam.FindStringSubmatch(k); m != nil && m[2] == "Key" {
			keys[m[1]] = v[0]
		}
	}
	for n, k := range keys {
		tags[k] = f.Get("Tags.Tag."+n+".Value") + f.Get("Tags.member."+n+".Value")
	}
	return tags
}
