// Package restoredrill is the restore drill task type: its declaration,
// its saga Workflow, the step activities that select a backup, provision a
// scratch target (local cluster, docker container, RDS instance, Azure
// flexible server, or a given database), fetch, restore, verify and tear
// down, the data of its events, and what `starter drills` finds left.
package restoredrill

import (
	"archive/tar"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/dockerpg"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the restore drill task type. Its Workflow runs it,
// step by step, with the activities below.
const Name = "restore-drill"

// The restore drill's steps, each an activity taking a Step.
const (
	Select    = "restore-drill.select"
	Provision = "restore-drill.provision"
	Fetch     = "restore-drill.fetch"
	Restore   = "restore-drill.restore"
	Verify    = "restore-drill.verify"
	Teardown  = "restore-drill.teardown"
)

// Target kinds.
const (
	TargetLocal  = "local"
	TargetURL    = "url"
	TargetDocker = "docker"
	TargetAWSRDS = "aws-rds"
	TargetAzure  = "azure-postgres-flexible"
)

// ErrBackupCorrupt is the application error type of a drill whose backup
// does not match its manifest's size and hash: not retried.
const ErrBackupCorrupt = "BackupCorrupt"

// Decl declares the restore drill task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Restores the newest (or a named) backup taken by `backup` onto a scratch database, verifies it and measures how long it took. " +
		"It downloads the dump and checks its SHA-256 against the manifest, provisions the target (`local`: an ephemeral PostgreSQL cluster from the worker's binaries; `docker`: a container; `aws-rds`: an RDS instance restored from a snapshot; `url`: a database you give), " +
		"runs pg_restore with `jobs`, compares every table's row count and checksum with the manifest's and runs the plan's SQL assertions. " +
		"The scratch target is torn down on success, failure, cancellation and timeout, and after a worker crash when the run resumes; `starter drills cleanup` removes anything left by a lost worker. " +
		"A verified backup is marked so retention keeps it. See [Backups and restore drills](drills.md).",
	Params: []plan.Param{
		{Name: "storage", Type: plan.TypeString, Doc: "Where the backups are: the `storage` of the backup task. Required but for target kind aws-rds, which restores RDS's own snapshots."},
		{Name: "source", Type: plan.TypeString, Doc: "The database the backups are of, as the backup task's `source` URL: it names the database (instead of `database`) and lets validation refuse a `url` target that is the source. The drill never connects to it."},
		{Name: "database", Type: plan.TypeString, Doc: "The database whose backups to restore, by name (the database in the backup task's source); instead of `source`."},
		{Name: "backup", Type: plan.TypeString, Default: "", Doc: "The backup's ID (its folder name, `20261125T061500Z-3f9a1c2b`); empty: the newest complete backup."},
		{Name: "recoveryPoint", Type: plan.TypeString, Default: "", Doc: "Which state to recover: `latest` (the newest backup; Azure's latest restorable point), `random` (a random instant of the retention window: the backup before it), an RFC 3339 time (`2026-11-29T06:00:00Z`) or a duration ago (`36h`): the newest backup that ended at or before it (Azure restores that very point). A point older than the oldest backup is an error naming the window. " +
			"Kind aws-rds: any recoveryPoint is a point-in-time restore of `instance` (RestoreDBInstanceToPointInTime; `latest`: its latest restorable time) instead of a snapshot's, inside its window (earliest to latest restorable time, else an error naming the window); empty: the newest snapshot. The RPO is measured from the point. Empty: latest. Not with `backup`, `target.snapshot` or `target.restorePoint`."},
		{Name: "target", Type: plan.TypeObject, Doc: "The scratch target; default `{kind: local}`.", Fields: []plan.Param{
			{Name: "kind", Type: plan.TypeString, Default: TargetLocal, Enum: []string{TargetLocal, TargetDocker, TargetAWSRDS, TargetAzure, TargetURL}, Doc: "`local`: a new PostgreSQL cluster on the worker (initdb in the scratch directory, a random loopback port), removed afterwards. `docker`: a PostgreSQL container on the worker's Docker engine (published on loopback, labelled with the drill), removed afterwards. `aws-rds`: a new RDS instance restored from the newest (or a named) snapshot of `instance`, or with `recoveryPoint` to a point in time, deleted afterwards; the backup is the snapshot (or the instance's automated backups), not a `backup` task's dump. `azure-postgres-flexible`: a new Azure flexible server restored from `server` to a point in time, deleted afterwards; the backup is Azure's. `url`: an existing database, given by `url`."},
			{Name: "instance", Type: plan.TypeString, Doc: "kind aws-rds: the source DB instance whose snapshots are restored."},
			{Name: "snapshot", Type: plan.TypeString, Doc: "kind aws-rds: the snapshot to restore (default: the instance's newest available one)."},
			{Name: "region", Type: plan.TypeString, Doc: "kind aws-rds: the region (default: AWS_REGION or the AWS config)."},
			{Name: "instanceClass", Type: plan.TypeString, Default: "db.t3.micro", Doc: "kind aws-rds: the scratch instance's class."},
			{Name: "subnetGroup", Type: plan.TypeString, Doc: "kind aws-rds: the DB subnet group the scratch instance goes in (the worker must reach it)."},
			{Name: "securityGroups", Type: plan.TypeStringList, Doc: "kind aws-rds: VPC security groups of the scratch instance."},
			{Name: "server", Type: plan.TypeString, Doc: "kind azure-postgres-flexible: the source server's resource ID, `/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/NAME`; the scratch server goes in the same resource group."},
			{Name: "restorePoint", Type: plan.TypeString, Doc: "kind azure-postgres-flexible: the point in time to restore, RFC 3339 (`2026-11-29T06:00:00Z`); empty: 10 minutes before the drill (about the latest restorable point)."},
			{Name: "location", Type: plan.TypeString, Doc: "kind azure-postgres-flexible: the scratch server's region (default: the source's)."},
			{Name: "port", Type: plan.TypeInt, Doc: "kinds aws-rds, azure-postgres-flexible: the port to connect to, when not the server's own (RDS's endpoint port; 5432 on Azure): a proxy in between."},
			{Name: "sslmode", Type: plan.TypeString, Default: "require", Enum: []string{"disable", "require", "verify-ca", "verify-full"}, Doc: "kinds aws-rds, azure-postgres-flexible: libpq's sslmode for connecting to the scratch server (both clouds force TLS by default)."},
			{Name: "image", Type: plan.TypeString, Doc: "kind docker: the image (default `postgres:MAJOR`, the source server's major version)."},
			{Name: "dockerHost", Type: plan.TypeString, Doc: "kind docker: the engine's endpoint (default `DOCKER_HOST`, else the local socket)."},
			{Name: "url", Type: plan.TypeString, Doc: "kind url: the database to restore into, `postgres://user[:password]@host:port/db`. It must not be the backup's source, and must be empty unless allowWipe."},
			{Name: "allowWipe", Type: plan.TypeBool, Default: false, Doc: "kind url: empty the database first (drop every schema, large objects too). Without it, a database that is not empty is refused."},
		}},
		{Name: "keepFor", Type: plan.TypeDuration, Doc: "A validation window after the checks (and rehearsal) passed: the scratch database stays up this long (at most 168h, 7 days) for outside checks, then is torn down; cancelling the run ends it early. " +
			"Its connection is published in a `drill.ready` event: host, port, database, user and the password's secret reference (`local://shipshape-drill-…` in the worker's local secret store, read with `starter secrets get`; deleted at teardown), never the password. " +
			"The window is a durable timer of the drill's workflow: a worker restart does not shorten or restart it. The task finishes, with its metrics, after the window and teardown; the window is added to the time the task may run, past its timeout. Empty: no window."},
		{Name: "jobs", Type: plan.TypeInt, Default: 2, Doc: "Tables pg_restore restores at once. With 1, a custom-format backup streams from its compressed copy into pg_restore (no unpacked copy on disk); more need the dump unpacked into a file first."},
		{Name: "assertions", Type: plan.TypeObjectList, Doc: "SQL checks run on the restored database after the checksums: each query returns one number.", Fields: []plan.Param{
			{Name: "name", Type: plan.TypeString, Required: true, Doc: "What it checks, for the report."},
			{Name: "sql", Type: plan.TypeString, Required: true, Doc: "A query returning one row with one number (`SELECT count(*) FROM users WHERE active`)."},
			{Name: "expect", Type: plan.TypeString, Required: true, Doc: "The value (`42`) or a threshold (`>= 1000`)."},
		}},
		{Name: "pgRestoreArgs", Type: plan.TypeStringList, Doc: "Extra pg_restore arguments. The drill always passes --no-owner --no-privileges --exit-on-error."},
		{Name: "rehearse", Type: plan.TypeObjectList, Doc: "Steps run, in order, against the verified scratch database before teardown: rehearse a change (a migration) on a copy of production. " +
			"A command step runs `run` (any argv: golang-migrate, Alembic, Flyway, `make migrate-up`) with the scratch database in its environment (`DATABASE_URL`, `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`; the worker's own `DATABASE_URL` and `PG*` are removed, so the source database is never given to a step), " +
			"then, with `down` and `up`, reverses and applies it again; the tables it holds ACCESS EXCLUSIVE are sampled every 100 ms. An assertion step runs `sql` and compares the number with `expect`. " +
			"A command that fails or outlives its timeout stops the rehearsal (the steps after it do not run); a failed assertion does not. Any failed step fails the drill as a check. " +
			"The catalog is read before the first step and after the last, for the schema's changes and checks.", Fields: []plan.Param{
			{Name: "name", Type: plan.TypeString, Required: true, Doc: "The step's name, in its metrics' names: lower-case letters, digits, - and _ (`migrate-up`)."},
			{Name: "run", Type: plan.TypeStringList, Doc: "The command, as an argv list (`[migrate, -path, db/migrations, -database, $DATABASE_URL, up]` needs a shell: `[sh, -c, 'migrate … -database \"$DATABASE_URL\" up']`)."},
			{Name: "down", Type: plan.TypeStringList, Doc: "With up: the command that reverses run's change, run after it."},
			{Name: "up", Type: plan.TypeStringList, Doc: "With down: the command that applies the change again after down."},
			{Name: "env", Type: plan.TypeStringMap, Doc: "More environment variables for the commands (not DATABASE_URL nor the PG* variables the drill sets)."},
			{Name: "timeout", Type: plan.TypeDuration, Default: "10m", Doc: "How long the step (run, down and up together) may take; a command still running then is stopped and the step fails."},
			{Name: "sql", Type: plan.TypeString, Doc: "Instead of run: a query returning one number, checked against expect."},
			{Name: "expect", Type: plan.TypeString, Doc: "With sql: the value (`42`) or a threshold (`>= 1`)."},
		}},
	},
	Metrics: []plan.Metric{
		{Name: "drill.rto", Unit: plan.UnitSeconds, Doc: "Recovery time: from the drill's start until the restore was verified (absent when it was not)."},
		{Name: "drill.rpo", Unit: plan.UnitSeconds, Doc: "Recovery point objective as measured: the data a restore to this point would lose. For a stored backup, the drill's start minus the end of the backup restored (with recoveryPoint, the point chosen minus the end of the backup restored for it); for a point-in-time restore (RDS, Azure flexible server), with `latest` the drill's start minus the latest restorable time (RDS reports it; Azure does not, and its latest point is taken as 10 minutes before now), and with a chosen point 0, since the restore reaches that point exactly."},
		{Name: "drill.fetch.duration", Unit: plan.UnitSeconds, Doc: "Downloading and hash-checking the backup."},
		{Name: "drill.restore.duration", Unit: plan.UnitSeconds, Doc: "pg_restore's run, with the unpacking it needs first."},
		{Name: "drill.verify.duration", Unit: plan.UnitSeconds, Doc: "Checksums and assertions."},
		{Name: "drill.verify.mismatches", Unit: plan.UnitCount, Doc: "Tables whose count or checksum differ from the manifest's, missing or extra."},
		{Name: "drill.assertions.failed", Unit: plan.UnitCount, Doc: "SQL assertions that did not hold (or did not run)."},
		{Name: "drill.kept", Unit: plan.UnitSeconds, Doc: "With keepFor: how long the scratch database was kept up for outside checks (less than keepFor when the run was cancelled during the window)."},
		{Name: "drill.bytes", Unit: plan.UnitBytes, Doc: "Backup bytes downloaded (compressed)."},
		{Name: "drill.tables", Unit: plan.UnitCount, Doc: "Tables verified."},
		{Name: "drill.rows", Unit: plan.UnitCount, Doc: "Rows verified."},
		{Name: "rehearse.<step>.duration", Unit: plan.UnitSeconds, Doc: "How long rehearsal step <step> took."},
		{Name: "rehearse.<step>.exit", Unit: plan.UnitAny, Doc: "Its command's exit code (the first that failed of run, down and up; 128+n when signal n ended it, as at its timeout); for an assertion, 0 when it held, 1 when not."},
		{Name: "rehearse.<step>.lock_max", Unit: plan.UnitSeconds, Doc: "The longest time a table that existed before the rehearsal was held ACCESS EXCLUSIVE while the step's commands ran (sampled from pg_locks every 100 ms)."},
		{Name: "rehearse.<step>.schema_changes", Unit: plan.UnitCount, Doc: "Tables, columns, indexes and constraints a command step added, dropped or altered (the catalog before and after it; with down and up, after up); what they are is in the report."},
		{Name: "rehearse.<step>.reversible", Unit: plan.UnitAny, Doc: "1 when the step's run, down and up all exited 0, else 0 (steps with down and up)."},
		{Name: "rehearse.<step>.value", Unit: plan.UnitAny, Doc: "An assertion step's number."},
		{Name: "rehearse.lock_max", Unit: plan.UnitSeconds, Doc: "The longest ACCESS EXCLUSIVE lock of any step (rehearse.<step>.lock_max's maximum)."},
		{Name: "rehearse.failed", Unit: plan.UnitCount, Doc: "Rehearsal steps that failed, or did not run because a command before them failed."},
		{Name: "rehearse.tables_added", Unit: plan.UnitCount, Doc: "Tables the rehearsal made (catalog after minus before)."},
		{Name: "rehearse.tables_dropped", Unit: plan.UnitCount, Doc: "Tables the rehearsal dropped."},
		{Name: "rehearse.tables_altered", Unit: plan.UnitCount, Doc: "Tables there before and after whose columns, indexes or constraints changed."},
		{Name: "rehearse.columns_added", Unit: plan.UnitCount, Doc: "Columns added."},
		{Name: "rehearse.columns_dropped", Unit: plan.UnitCount, Doc: "Columns dropped (those of dropped tables too)."},
		{Name: "rehearse.columns_altered", Unit: plan.UnitCount, Doc: "Columns whose type, nullability or default changed."},
		{Name: "rehearse.indexes_added", Unit: plan.UnitCount, Doc: "Indexes added."},
		{Name: "rehearse.indexes_dropped", Unit: plan.UnitCount, Doc: "Indexes dropped."},
		{Name: "rehearse.indexes_altered", Unit: plan.UnitCount, Doc: "Indexes whose definition changed (same name; pg_get_indexdef differs)."},
		{Name: "rehearse.constraints_added", Unit: plan.UnitCount, Doc: "Constraints added."},
		{Name: "rehearse.constraints_dropped", Unit: plan.UnitCount, Doc: "Constraints dropped."},
		{Name: "rehearse.constraints_altered", Unit: plan.UnitCount, Doc: "Constraints whose definition changed (same name; pg_get_constraintdef differs)."},
		{Name: "schema.fk_without_index", Unit: plan.UnitCount, Doc: "After the rehearsal: foreign keys whose columns lead no index of their table."},
		{Name: "schema.tables_without_pk", Unit: plan.UnitCount, Doc: "After the rehearsal: tables without a primary key."},
		{Name: "schema.invalid_indexes", Unit: plan.UnitCount, Doc: "After the rehearsal: invalid indexes (a failed CREATE INDEX CONCURRENTLY)."},
	},
	Timeout:     time.Hour,
	Heartbeat:   time.Minute,
	MaxAttempts: 3,
	Workflow:    true,
	// The validation window comes after the checks, past the task's
	// timeout: the task workflow may run that much longer.
	Linger: func(with map[string]any) time.Duration { return keepFor(task.Params(with)) },
	Check:  check,
}

func check(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	add := func(param, format string, args ...any) {
		problems = append(problems, plan.ParamProblem{Param: param, Msg: fmt.Sprintf(format, args...)})
	}
	var src *postgres.Source
	switch {
	case p.String("source") != "":
		s, err := postgres.ParseSource(p.String("source"))
		if err != nil {
			add("source", "%v", err)
		} else {
			src = &s
		}
		if db := p.String("database"); db != "" && err == nil && db != s.Database {
			add("database", "%q is not the database of source (%q): give one of them", db, s.Database)
		}
	case p.String("database") == "":
		add("", "name the backups' database: give source (the backup task's source URL) or database")
	}
	if err := pgbackup.Check(p.String("storage")); err != nil {
		add("storage", "%v", err)
	}
	t := p.Object("target")
	switch kind := targetKind(t); kind {
	case TargetURL:
		dst, err := postgres.ParseSource(t.String("url"))
		if err != nil {
			add("target.url", "%v", err)
		} else if src != nil && sameDatabase(pgbackup.Source{Host: src.Host, Port: src.Port, Database: src.Database}, dst) {
			add("target.url", "is the source database (%s): a drill restores elsewhere", dst)
		}
	case TargetLocal, TargetDocker:
		if t.String("url") != "" {
			add("target.url", "only for kind url")
		}
	}
	if kind := targetKind(t); kind != TargetDocker && (t.String("image") != "" || t.String("dockerHost") != "") {
		add("target.image", "image and dockerHost are for kind docker")
	}
	switch targetKind(t) {
	case TargetAWSRDS, TargetAzure:
		if targetKind(t) == TargetAWSRDS && t.String("instance") == "" {
			add("target.instance", "name the RDS instance whose snapshots the drill restores")
		}
		if targetKind(t) == TargetAzure {
			if _, err := azurepg.ParseServerID(t.String("server")); err != nil {
				add("target.server", "%v", err)
			}
			if rp := t.String("restorePoint"); rp != "" {
				if _, err := time.Parse(time.RFC3339, rp); err != nil {
					add("target.restorePoint", "want an RFC 3339 time (2026-11-29T06:00:00Z)")
				}
			}
		}
		if p.String("database") == "" && p.String("source") == "" {
			add("database", "name the database to verify in the restored server")
		}
	default:
		if p.String("storage") == "" {
			add("storage", "required: where the backup task keeps its backups")
		}
	}
	for i, a := range p.Objects("assertions") {
		if _, err := parseExpect(a.String("expect")); err != nil {
			add(fmt.Sprintf("assertions[%d].expect", i), "%v", err)
		}
	}
	if rp := p.String("recoveryPoint"); rp != "" && (rp != "latest" || targetKind(t) == TargetAWSRDS) {
		if _, err := parseRecoveryPoint(rp, time.Now()); err != nil {
			add("recoveryPoint", "%v", err)
		}
		for _, other := range []string{"backup", "target.snapshot", "target.restorePoint"} {
			v := p.String(other)
			if o, ok := strings.CutPrefix(other, "target."); ok {
				v = t.String(o)
			}
			if v != "" {
				add("recoveryPoint", "give recoveryPoint or %s, not both", other)
			}
		}
	}
	checkRehearse(p, add)
	checkKeepFor(p, add)
	if p.Int("jobs") < 1 && with["jobs"] != nil {
		add("jobs", "must be at least 1")
	}
	return problems
}

func targetKind(t task.Params) string {
	if k := t.String("kind"); k != "" {
		return k
	}
	return TargetLocal
}

// parseExpect reads an assertion's expectation: a threshold, or a bare
// number meaning equal to it.
func parseExpect(s string) (plan.Threshold, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		s = "== " + s
	}
	return plan.ParseThreshold(s, plan.UnitCount)
}

// Step is the input of every drill step: the task, the drill's ID
// (its workflow's ID, which keys what it makes), and what the steps before
// found. It holds no secret: passwords stay in the plan's URLs or in the
// scratch directory.
type Step struct {
	Task   task.Input `json:"task"`
	ID     string     `json:"id"`
	Backup Backup     `json:"backup"`
	Target Target     `json:"target"`
}

// Backup is the backup a drill restores, from its manifest.
type Backup struct {
	ID       string          `json:"id"`
	Database string          `json:"database"`
	Key      string          `json:"key"`
	Format   string          `json:"format"`
	Size     int64           `json:"size"`
	SHA256   string          `json:"sha256"`
	Finished time.Time       `json:"finished"`
	Source   pgbackup.Source `json:"source"`
	// Point is the recovery point the plan asked for, when not the
	// latest: the RPO is measured from it, not from the drill's start.
	Point time.Time `json:"point,omitempty"`
}

// Target is a provisioned scratch target.
type Target struct {
	Kind     string `json:"kind"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	User     string `json:"user,omitempty"`
	Database string `json:"database,omitempty"`
	// Dir is a local target's cluster directory, a docker target's
	// container, an aws-rds target's instance.
	Dir string `json:"dir,omitempty"`
	// Restored is how long RDS took to restore an aws-rds target, in
	// seconds.
	Restored float64 `json:"restored,omitempty"`
}

// Result is what a drill step reports.
type Result struct {
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Tables  []plan.Table       `json:"tables,omitempty"`
	Message string             `json:"message,omitempty"`
	// Verified: every table matched and every assertion held.
	Verified bool `json:"verified,omitempty"`
}

// Config is what a Drill needs: where it works and how it reaches the
// clouds. Zero values are sensible defaults.
type Config struct {
	// Logger logs what the steps do; nil: slog.Default().
	Logger *slog.Logger
	// Events receives the steps' progress; nil: none.
	Events taskrun.EventPublisher
	// ScratchDir is where local targets and downloads go; empty:
	// DefaultScratchDir().
	ScratchDir string
	// RDSPoll is how often aws-rds targets poll RDS while they wait;
	// zero: RDS's waiter defaults (30 s, backing off to 2 min).
	RDSPoll time.Duration
	// AzurePG opens the flexible servers of a subscription for
	// azure-postgres-flexible targets; nil: azidentity's
	// DefaultAzureCredential on Azure's public cloud. AzurePoll is how
	// often its long operations are polled (zero: 30 s).
	AzurePG   func(subscription string) (*azurepg.Client, error)
	AzurePoll time.Duration
	// SecretsDir is the worker's local secret store, where a drill with a
	// validation window files its scratch password; empty: the default.
	SecretsDir string
}

// Drill runs the restore drill's steps, the activities of its Workflow.
type Drill struct {
	logger     *slog.Logger
	events     taskrun.EventPublisher
	scratch    string
	rdsPoll    time.Duration
	azurePG    func(subscription string) (*azurepg.Client, error)
	azurePoll  time.Duration
	secretsDir string
}

// New returns the restore drill's activities, configured by cfg.
func New(cfg Config) *Drill {
	d := &Drill{logger: cfg.Logger, events: cfg.Events, scratch: cfg.ScratchDir,
		rdsPoll: cfg.RDSPoll, azurePG: cfg.AzurePG, azurePoll: cfg.AzurePoll, secretsDir: cfg.SecretsDir}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	if d.scratch == "" {
		d.scratch = DefaultScratchDir()
	}
	return d
}

// Type is the restore drill task type: its Workflow, with d's steps.
func (d *Drill) Type() task.Type {
	return task.Type{Decl: Decl, Workflow: Workflow, Activities: d.steps()}
}

// progress is the reporter of one step's progress.
func (d *Drill) progress(in task.Input) *taskrun.Progress {
	return taskrun.NewProgress(d.events, d.logger, in)
}

// steps are the restore drill's step activities, by name.
func (d *Drill) steps() map[string]any {
	return map[string]any{
		Select:    d.Select,
		Provision: d.Provision,
		Fetch:     d.Fetch,
		Restore:   d.Restore,
		Verify:    d.Verify,
		Teardown:  d.Teardown,
		Schema:    d.Schema,
		Rehearse:  d.Rehearse,
		Ready:     d.Ready,
	}
}

// DefaultScratchDir is where local targets and downloads go when the worker
// names no scratch directory.
// SHIPSHAPE_SCRATCH_DIR overrides it for the worker and the starter alike.
func DefaultScratchDir() string {
	if d := os.Getenv("SHIPSHAPE_SCRATCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "shipshape-drills")
}

func (d *Drill) scratchDir() string { return d.scratch }

// Tag is the tag of the scratch clusters drill id makes.
func Tag(id string) string { return "restore-drill:" + id }

// drillDir is the drill's working directory (downloads, the restored
// dump, the local target's password).
func (d *Drill) drillDir(id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(d.scratchDir(), "shipshape-drill-"+hex.EncodeToString(sum[:8]))
}

// IDFile names, in a drill directory, the drill it belongs to.
const IDFile = "drill-id"

// makeDrillDir makes the drill's directory, saying whose it is.
func (d *Drill) makeDrillDir(id string) (string, error) {
	dir := d.drillDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, IDFile), []byte(id), 0o600)
}

// Select picks the backup: the named one or the newest complete one
// (for aws-rds, the newest available snapshot).
func (d *Drill) Select(ctx context.Context, s Step) (Backup, error) {
	p := s.Task.Params
	switch targetKind(p.Object("target")) {
	case TargetAWSRDS:
		return d.selectRDSSnapshot(ctx, s)
	case TargetAzure:
		return d.selectAzurePoint(ctx, s)
	}
	store, err := pgbackup.Open(ctx, p.String("storage"))
	if err != nil {
		return Backup{}, task.InvalidParams("storage: %v", err)
	}
	rp, err := parseRecoveryPoint(p.String("recoveryPoint"), time.Now())
	if err != nil {
		return Backup{}, task.InvalidParams("recoveryPoint: %v", err)
	}
	var point time.Time
	var m *pgbackup.Manifest
	if rp.latest || p.String("backup") != "" {
		m, err = pgbackup.Find(ctx, store, Database(p), p.String("backup"))
	} else {
		m, point, err = choosePoint(ctx, store, Database(p), rp)
	}
	if errors.Is(err, pgbackup.ErrNoBackup) || errors.Is(err, errOutsideWindow) {
		return Backup{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%v in %s", err, store), task.ErrInvalidParams, nil)
	}
	if err != nil {
		return Backup{}, err
	}
	return Backup{ID: m.ID, Database: m.Source.Database, Key: m.Key, Format: m.Format, Size: m.Size,
		SHA256: m.SHA256, Finished: m.Finished, Source: m.Source, Point: point}, nil
}

// choosePoint picks the backup of database for a recovery point that
// is not the latest.
func choosePoint(ctx context.Context, store pgbackup.Store, database string, rp recoveryPoint) (*pgbackup.Manifest, time.Time, error) {
	list, err := pgbackup.List(ctx, store, database)
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(list) == 0 {
		return nil, time.Time{}, fmt.Errorf("%w of %q", pgbackup.ErrNoBackup, database)
	}
	slices.SortStableFunc(list, func(a, b *pgbackup.Manifest) int { return b.Finished.Compare(a.Finished) })
	ends := make([]time.Time, len(list))
	for i, m := range list {
		ends[i] = m.Finished
	}
	i, point, err := rp.choose(ends, time.Now(), fmt.Sprintf("backups of %q", database))
	if err != nil {
		return nil, time.Time{}, err
	}
	return list[i], point, nil
}

// Database is the database whose backups a drill restores.
func Database(p task.Params) string {
	if db := p.String("database"); db != "" {
		return db
	}
	src, _ := postgres.ParseSource(p.String("source"))
	return src.Database
}

// Provision makes the scratch target. It is idempotent by drill:
// a retry first removes what an earlier attempt of the same drill made.
func (d *Drill) Provision(ctx context.Context, s Step) (Target, error) {
	t := s.Task.Params.Object("target")
	switch kind := targetKind(t); kind {
	case TargetLocal:
		if _, err := d.Teardown(ctx, s); err != nil {
			return Target{}, err
		}
		dir, err := d.makeDrillDir(s.ID)
		if err != nil {
			return Target{}, err
		}
		c, err := postgres.StartCluster(ctx, postgres.ClusterOptions{Parent: d.scratchDir(), Tag: Tag(s.ID)})
		if err != nil {
			return Target{}, fmt.Errorf("provision a local cluster: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "password"), []byte(c.Password), 0o600); err != nil {
			_ = c.Stop(context.WithoutCancel(ctx))
			return Target{}, err
		}
		d.logger.Info("drill target provisioned", "drill", s.ID, "dir", c.Dir, "port", c.Port)
		return Target{Kind: kind, Host: c.Host, Port: c.Port, User: c.Superuser, Database: s.Backup.Database, Dir: c.Dir}, nil
	case TargetDocker:
		return d.provisionDocker(ctx, s)
	case TargetAWSRDS:
		return d.provisionRDS(ctx, s)
	case TargetAzure:
		return d.provisionAzure(ctx, s)
	case TargetURL:
		dst, err := postgres.ParseSource(t.String("url"))
		if err != nil {
			return Target{}, task.InvalidParams("target.url: %v", err)
		}
		if _, err := d.makeDrillDir(s.ID); err != nil {
			return Target{}, err
		}
		target := Target{Kind: kind, Host: dst.Host, Port: dst.Port, User: dst.User, Database: dst.Database}
		if sameDatabase(s.Backup.Source, dst) {
			return Target{}, task.InvalidParams("target.url: %s is the backup's source (%s:%d/%s): a drill restores elsewhere", dst, s.Backup.Source.Host, s.Backup.Source.Port, s.Backup.Source.Database)
		}
		conn, err := dst.Connect(ctx)
		if err != nil {
			return Target{}, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var system string
		_ = conn.QueryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&system)
		if system != "" && system == s.Backup.Source.SystemID && dst.Database == s.Backup.Source.Database {
			return Target{}, task.InvalidParams("target.url: %s is the backup's source database (same cluster, system identifier %s): a drill restores elsewhere", dst, system)
		}
		n, err := userObjects(ctx, conn)
		if err != nil {
			return Target{}, err
		}
		if n > 0 && !t.Bool("allowWipe") {
			return Target{}, task.InvalidParams("target.url: database %q is not empty (%d relations); set target.allowWipe: true to empty it first", dst.Database, n)
		}
		return target, nil
	default:
		return Target{}, task.InvalidParams("target.kind: %q is not a target kind (local, docker, aws-rds, azure-postgres-flexible, url)", kind)
	}
}

// provisionDocker runs a PostgreSQL container for the drill, labelled
// with its tag, its password in the drill directory beside a marker that
// says a container may exist (so teardown insists on reaching the engine).
func (d *Drill) provisionDocker(ctx context.Context, s Step) (Target, error) {
	t := s.Task.Params.Object("target")
	eng, err := dockerpg.Connect(t.String("dockerHost"))
	if err != nil {
		return Target{}, task.InvalidParams("target: kind docker: %v; kind local restores with this machine's PostgreSQL binaries instead", err)
	}
	if _, err := d.Teardown(ctx, s); err != nil {
		return Target{}, err
	}
	dir, err := d.makeDrillDir(s.ID)
	if err != nil {
		return Target{}, err
	}
	pw, err := newPassword()
	if err != nil {
		return Target{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return Target{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "docker"), nil, 0o600); err != nil {
		return Target{}, err
	}
	image := t.String("image")
	if image == "" {
		image = "postgres:" + majorVersion(s.Backup.Source.ServerVersion)
	}
	c, err := eng.StartPostgres(ctx, image, Tag(s.ID), string(pw), 3*time.Minute)
	if err != nil {
		if _, rerr := eng.Remove(context.WithoutCancel(ctx), Tag(s.ID)); rerr != nil {
			d.logger.Warn("drill container not removed", "drill", s.ID, "error", rerr)
		}
		return Target{}, fmt.Errorf("provision a docker target: %w", err)
	}
	d.logger.Info("drill target provisioned", "drill", s.ID, "container", c.ID, "image", image, "port", c.Port)
	return Target{Kind: TargetDocker, Host: c.Host, Port: c.Port, User: "postgres", Database: s.Backup.Database, Dir: c.ID}, nil
}

// majorVersion is the major version of a server version string ("16.4
// (Debian …)" is 16); "16" when it says none.
func majorVersion(v string) string {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 {
		return "16"
	}
	return v[:end]
}

// cloudTarget says whether a target kind is a cloud server restored from
// the cloud's own backups.
func cloudTarget(kind string) bool { return kind == TargetAWSRDS || kind == TargetAzure }

// sameDatabase says whether dst names the source's database: same
// database name and port on the same host, loopback names counting as one.
func sameDatabase(src pgbackup.Source, dst postgres.Source) bool {
	if src.Database != dst.Database || src.Port != dst.Port {
		return false
	}
	norm := func(h string) string {
		if h == "localhost" || h == "" || strings.HasPrefix(h, "/") {
			return "loopback"
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return "loopback"
		}
		return strings.ToLower(h)
	}
	return norm(src.Host) == norm(dst.Host)
}

// userObjects counts the relations and large objects in a database
// outside the system schemas.
func userObjects(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%')
		+ (SELECT count(*) FROM pg_largeobject_metadata)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inspect the target: %w", err)
	}
	return n, nil
}

// wipe empties a database: every schema but the system's is dropped (and
// public made again), every large object unlinked.
func wipe(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
		AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%'`)
	if err != nil {
		return err
	}
	var schemas []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		schemas = append(schemas, s)
	}
	rows.Close()
	for _, s := range schemas {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("wipe: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS public"); err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT lo_unlink(oid) FROM pg_largeobject_metadata"); err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	return nil
}

// fetched is the marker a finished fetch leaves in the drill directory.
type fetched struct {
	Bytes int64 `json:"bytes"`
}

// In the drill directory: the fetched backup as stored (compressed,
// hash checked), and the dump unpacked from it when pg_restore needs a
// file (parallel jobs, the directory format). A fetch by an earlier
// version left the unpacked dump only.
const (
	archiveFile = "backup.zst"
	dumpFile    = "dump"
)

// Fetch downloads the backup into the drill directory and checks its
// size and SHA-256 against the manifest.
// A retried fetch resumes the download where the last attempt stopped
// (the bytes on disk are hashed again, not downloaded again), and one
// that finished is not repeated.
func (d *Drill) Fetch(ctx context.Context, s Step) (Result, error) {
	if cloudTarget(s.Target.Kind) {
		return Result{Metrics: map[string]float64{"drill.bytes": 0, "drill.fetch.duration": 0},
			Message: "nothing to fetch: the cloud restored " + s.Backup.ID + " into " + s.Target.Dir}, nil
	}
	started := time.Now()
	dir := d.drillDir(s.ID)
	marker := filepath.Join(dir, "fetched.json")
	if b, err := os.ReadFile(marker); err == nil {
		var f fetched
		if json.Unmarshal(b, &f) == nil {
			return Result{Metrics: map[string]float64{"drill.bytes": float64(f.Bytes), "drill.fetch.duration": 0},
				Message: "already fetched"}, nil
		}
	}
	store, err := pgbackup.Open(ctx, s.Task.Params.String("storage"))
	if err != nil {
		return Result{}, task.InvalidParams("storage: %v", err)
	}
	if _, err := d.makeDrillDir(s.ID); err != nil {
		return Result{}, err
	}
	part := filepath.Join(dir, "download.part")
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	h := sha256.New()
	offset, err := io.Copy(h, f) // what an earlier attempt downloaded
	if err != nil {
		return Result{}, err
	}
	if offset > s.Backup.Size {
		offset = 0
		h.Reset()
		if err := f.Truncate(0); err != nil {
			return Result{}, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Result{}, err
		}
	}
	resumed := offset
	var got atomic.Int64
	got.Store(offset)
	prog := d.progress(s.Task)
	report := func() task.Progress {
		n := got.Load()
		done := -1.0
		if s.Backup.Size > 0 {
			done = float64(n) / float64(s.Backup.Size)
		}
		return task.Progress{Done: done, Message: fmt.Sprintf("fetch: %s of %s", mib(n), mib(s.Backup.Size)),
			Metrics: map[string]float64{"drill.bytes": float64(n)}}
	}
	stop := prog.Every(ctx, 5*time.Second, report)
	if offset < s.Backup.Size {
		r, err := store.Open(ctx, s.Backup.Key, offset)
		if err != nil {
			stop()
			return Result{}, fmt.Errorf("open %s: %w", s.Backup.Key, err)
		}
		_, err = io.Copy(io.MultiWriter(f, h, writerFunc(func(p []byte) { got.Add(int64(len(p))) })), r)
		r.Close()
		if err != nil {
			stop()
			return Result{}, fmt.Errorf("download %s: %w", s.Backup.Key, err)
		}
	}
	stop()
	// Whatever is left past the manifest's size counts against the hash.
	if rest, err := io.Copy(h, f); err == nil {
		got.Add(rest)
	}
	n := got.Load()
	sum := hex.EncodeToString(h.Sum(nil))
	metrics := map[string]float64{"drill.bytes": float64(n - resumed)}
	if n != s.Backup.Size || sum != s.Backup.SHA256 {
		f.Close()
		_ = os.Remove(part)
		out := task.Output{Metrics: metrics}
		return Result{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backup %s is corrupt: %d bytes with sha256 %s, the manifest says %d bytes with sha256 %s", s.Backup.ID, n, sum, s.Backup.Size, s.Backup.SHA256),
			ErrBackupCorrupt, nil, out)
	}
	f.Close()
	// Kept compressed: Restore streams it into pg_restore, or unpacks it
	// when pg_restore needs a file.
	if err := os.Rename(part, filepath.Join(dir, archiveFile)); err != nil {
		return Result{}, err
	}
	b, _ := json.Marshal(fetched{Bytes: n})
	if err := os.WriteFile(marker, b, 0o600); err != nil {
		return Result{}, err
	}
	metrics["drill.fetch.duration"] = time.Since(started).Seconds()
	msg := fmt.Sprintf("fetched %s (%s), sha256 verified", s.Backup.Key, mib(n))
	if resumed > 0 {
		msg += fmt.Sprintf(", resumed at %s", mib(resumed))
	}
	return Result{Metrics: metrics, Message: msg}, nil
}

type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) {
	w(p)
	return len(p), nil
}

// unpack decompresses a stored dump into dst: the custom format's file,
// or the directory format's directory.
func unpack(r io.Reader, format, dst string) error {
	dec, err := zstd.NewReader(r)
	if err != nil {
		return err
	}
	defer dec.Close()
	if format != pgbackup.FormatDirectory {
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, dec); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(dec)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || strings.Contains(name, "/") || name == "." || name == ".." {
			return fmt.Errorf("unexpected entry %q in a directory-format dump", hdr.Name)
		}
		out, err := os.OpenFile(filepath.Join(dst, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
}

// targetSource is how the drill's steps reach the target: a local
// target's superuser password is in the drill directory, a url target's
// is in its URL.
func (d *Drill) targetSource(s Step) (postgres.Source, error) {
	switch s.Target.Kind {
	case TargetLocal, TargetDocker, TargetAWSRDS, TargetAzure:
		pw, err := os.ReadFile(filepath.Join(d.drillDir(s.ID), "password"))
		if err != nil {
			return postgres.Source{}, fmt.Errorf("the target's password is gone (was it torn down?): %w", err)
		}
		sslmode := "disable"
		if cloudTarget(s.Target.Kind) {
			sslmode = s.Task.Params.Object("target").String("sslmode")
		}
		return postgres.ParseSource(fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=%s", url.PathEscape(s.Target.User), url.QueryEscape(string(pw)),
			net.JoinHostPort(s.Target.Host, strconv.Itoa(s.Target.Port)), s.Target.Database, cmp.Or(sslmode, "require")))
	case TargetURL:
		return postgres.ParseSource(s.Task.Params.Object("target").String("url"))
	}
	return postgres.Source{}, fmt.Errorf("target kind %q", s.Target.Kind)
}

// Restore restores the fetched dump into the target with pg_restore.
// A retry starts the restore again on an emptied database.
func (d *Drill) Restore(ctx context.Context, s Step) (Result, error) {
	if cloudTarget(s.Target.Kind) {
		return Result{Metrics: map[string]float64{"drill.restore.duration": s.Target.Restored},
			Message: fmt.Sprintf("the cloud restored %s into %s in %s", s.Backup.ID, s.Target.Dir, time.Duration(s.Target.Restored*float64(time.Second)).Round(time.Second))}, nil
	}
	started := time.Now()
	dst, err := d.targetSource(s)
	if err != nil {
		return Result{}, err
	}
	dir := d.drillDir(s.ID)
	jobs := max(s.Task.Params.Int("jobs"), 1)
	input, err := d.restoreInput(dir, s.Backup.Format, jobs)
	if err != nil {
		return Result{}, err
	}
	defer input.Close()
	startedMarker := filepath.Join(dir, "restore-started")
	switch s.Target.Kind {
	case TargetLocal, TargetDocker:
		conn, err := dst.InDatabase(maintenanceDB(dst.Database)).Connect(ctx)
		if err != nil {
			return Result{}, err
		}
		db := pgx.Identifier{dst.Database}.Sanitize()
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
		if err == nil {
			_, err = conn.Exec(ctx, "CREATE DATABASE "+db)
		}
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return Result{}, fmt.Errorf("create the scratch database: %w", err)
		}
	case TargetURL:
		_, again := os.Stat(startedMarker)
		if s.Task.Params.Object("target").Bool("allowWipe") || again == nil {
			conn, err := dst.Connect(ctx)
			if err != nil {
				return Result{}, err
			}
			err = wipe(ctx, conn)
			conn.Close(context.WithoutCancel(ctx))
			if err != nil {
				return Result{}, err
			}
		}
	}
	if err := os.WriteFile(startedMarker, nil, 0o600); err != nil {
		return Result{}, err
	}
	bin, err := postgres.Bin("pg_restore")
	if err != nil {
		return Result{}, err
	}
	args := append([]string{"--no-owner", "--no-privileges", "--exit-on-error", "--verbose", "--no-password",
		"--dbname=" + dst.Conninfo()}, s.Task.Params.Strings("pgRestoreArgs")...)
	if input.file != "" {
		args = append(args, "--jobs="+strconv.Itoa(jobs), input.file)
	}
	var tables atomic.Int64
	prog := d.progress(s.Task)
	defer prog.Every(ctx, 5*time.Second, func() task.Progress {
		return task.Progress{Done: -1, Message: fmt.Sprintf("restore: %d tables loaded", tables.Load()),
			Metrics: map[string]float64{"drill.restore.tables": float64(tables.Load())}}
	})()
	err = dst.RunLines(ctx, bin, args, input.stream, func(line string) {
		if strings.Contains(line, "processing data for table") {
			tables.Add(1)
		}
	})
	if err != nil {
		return Result{}, err
	}
	took := time.Since(started)
	return Result{
		Metrics: map[string]float64{"drill.restore.duration": took.Seconds()},
		Message: fmt.Sprintf("pg_restore %s: %d tables loaded in %s", input.how(jobs), tables.Load(), took.Round(time.Millisecond)),
	}, nil
}

// restoreInput is what pg_restore reads: a file it may seek in, or a
// stream.
type restoreInput struct {
	file   string
	stream io.Reader
	close  func()
}

func (r restoreInput) Close() {
	if r.close != nil {
		r.close()
	}
}

func (r restoreInput) how(jobs int) string {
	if r.stream != nil {
		return "streamed from the backup"
	}
	return fmt.Sprintf("--jobs %d", jobs)
}

// restoreInput prepares the fetched backup for pg_restore. A custom
// format dump restored by one job streams straight from the compressed
// backup into pg_restore: no second copy on disk, and decompression
// overlaps the restore. Parallel jobs and the directory format need a
// file: the backup is unpacked first (into a temporary name, so a
// retried restore never takes a half-unpacked dump).
func (d *Drill) restoreInput(dir, format string, jobs int) (restoreInput, error) {
	dump := filepath.Join(dir, dumpFile)
	if _, err := os.Stat(dump); err == nil {
		return restoreInput{file: dump}, nil
	}
	f, err := os.Open(filepath.Join(dir, archiveFile))
	if err != nil {
		return restoreInput{}, fmt.Errorf("the fetched backup is gone: %w", err)
	}
	if format != pgbackup.FormatDirectory && jobs == 1 {
		dec, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return restoreInput{}, err
		}
		return restoreInput{stream: dec.IOReadCloser(), close: func() { dec.Close(); f.Close() }}, nil
	}
	defer f.Close()
	tmp := dump + ".part"
	_ = os.RemoveAll(tmp)
	if err := unpack(f, format, tmp); err != nil {
		return restoreInput{}, fmt.Errorf("unpack the backup: %w", err)
	}
	if err := os.Rename(tmp, dump); err != nil {
		return restoreInput{}, err
	}
	return restoreInput{file: dump}, nil
}

// maintenanceDB is the database to connect to while (re)making db:
// postgres, or template1 when db is postgres itself (PostgreSQL cannot
// drop the database a session is in).
func maintenanceDB(db string) string {
	if db == "postgres" {
		return "template1"
	}
	return "postgres"
}

// Verify compares the restored tables with the manifest's sums and
// runs the plan's assertions. A backup that passes is marked verified in
// the store, so retention keeps it.
func (d *Drill) Verify(ctx context.Context, s Step) (Result, error) {
	started := time.Now()
	// An RDS snapshot has no manifest: the drill checks what it can
	// reach (every table read, the assertions) and records the counts.
	snapshot := cloudTarget(s.Target.Kind)
	var store pgbackup.Store
	m := &pgbackup.Manifest{ID: s.Backup.ID}
	if !snapshot {
		var err error
		if store, err = pgbackup.Open(ctx, s.Task.Params.String("storage")); err != nil {
			return Result{}, task.InvalidParams("storage: %v", err)
		}
		if m, err = pgbackup.Read(ctx, store, path.Dir(s.Backup.Key)+"/"+pgbackup.ManifestKey); err != nil {
			return Result{}, err
		}
	}
	dst, err := d.targetSource(s)
	if err != nil {
		return Result{}, err
	}
	conn, err := dst.Connect(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var phase atomic.Value
	phase.Store("verify: checksumming tables")
	prog := d.progress(s.Task)
	defer prog.Every(ctx, 5*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: phase.Load().(string)} })()
	num, err := postgres.ServerVersion(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	method := postgres.MethodFor(num)
	if !snapshot {
		method = m.Checksum
		if method == postgres.SumHash && postgres.MethodFor(num) != postgres.SumHash {
			return Result{}, fmt.Errorf("the backup's checksums (%s) need PostgreSQL 11 or later; the restore target runs %d", method, num)
		}
	}
	got, err := postgres.TableSums(ctx, conn, method)
	if err != nil {
		return Result{}, fmt.Errorf("checksum the restore: %w", err)
	}
	var diffs []string
	if snapshot {
		m.Tables = got // nothing to compare with: report what was read
	} else {
		diffs = postgres.CompareSums(m.Tables, got)
	}
	restored := map[string]postgres.TableSum{}
	var rows int64
	for _, g := range got {
		restored[g.Schema+"."+g.Name] = g
	}
	check := plan.Table{Title: "Verification against the manifest", Columns: []string{"table", "rows in backup", "rows restored", "result"}}
	for _, w := range m.Tables {
		g, ok := restored[w.Schema+"."+w.Name]
		result, n := "match", "missing"
		if ok {
			n = strconv.FormatInt(g.Rows, 10)
			rows += g.Rows
		}
		switch {
		case !ok:
			result = "missing"
		case g.Rows != w.Rows:
			result = "count differs"
		case g.Checksum != w.Checksum:
			result = "checksum differs"
		}
		check.Rows = append(check.Rows, []string{w.Schema + "." + w.Name, strconv.FormatInt(w.Rows, 10), n, result})
	}
	asserts := plan.Table{Title: "Assertions", Columns: []string{"assertion", "value", "expected", "result"}}
	failed := 0
	phase.Store("verify: running assertions")
	for _, as := range s.Task.Params.Objects("assertions") {
		want, err := parseExpect(as.String("expect"))
		if err != nil {
			return Result{}, task.InvalidParams("assertion %q: %v", as.String("name"), err)
		}
		var v float64
		result, value := "pass", ""
		if err := conn.QueryRow(ctx, as.String("sql")).Scan(&v); err != nil {
			result, value = "error: "+err.Error(), "—"
			failed++
		} else {
			value = strconv.FormatFloat(v, 'f', -1, 64)
			if !want.Holds(v) {
				result = "fail"
				failed++
			}
		}
		asserts.Rows = append(asserts.Rows, []string{as.String("name"), value, want.String(), result})
	}
	res := Result{
		Metrics: map[string]float64{
			"drill.verify.mismatches": float64(len(diffs)),
			"drill.assertions.failed": float64(failed),
			"drill.tables":            float64(m.TableCount()),
			"drill.rows":              float64(rows),
			"drill.verify.duration":   time.Since(started).Seconds(),
		},
		Tables:   []plan.Table{check},
		Verified: len(diffs) == 0 && failed == 0,
	}
	if len(asserts.Rows) > 0 {
		res.Tables = append(res.Tables, asserts)
	}
	switch {
	case res.Verified && snapshot:
		check.Title = "Tables read in the restored server (a cloud backup carries no manifest to compare with)"
		res.Message = fmt.Sprintf("read %d tables, %d rows; %d assertions held on %s", m.TableCount(), rows, len(asserts.Rows), m.ID)
	case res.Verified:
		res.Message = fmt.Sprintf("verified %d tables, %d rows and %d assertions against backup %s", m.TableCount(), rows, len(asserts.Rows), m.ID)
		if err := pgbackup.MarkVerified(ctx, store, m, pgbackup.Verification{Drill: s.ID, Verified: time.Now().UTC(), Tables: m.TableCount(), Rows: rows}); err != nil {
			res.Message += fmt.Sprintf(" (could not mark it verified: %v)", err)
		}
	default:
		res.Message = fmt.Sprintf("verification failed: %d table mismatches, %d assertions failed", len(diffs), failed)
		if len(diffs) > 0 {
			res.Message += "\n" + strings.Join(diffs, "\n")
		}
	}
	return res, nil
}

// Teardown removes what the drill made: a local target's cluster
// (found by its tag, so it works after a crash), a docker target's
// container (by its label) and the drill directory. It is idempotent; a
// url target is left as the restore made it.
func (d *Drill) Teardown(ctx context.Context, s Step) (Result, error) {
	if err := d.forgetPassword(ctx, s); err != nil {
		return Result{}, err
	}
	left, err := postgres.Leftovers(d.scratchDir(), Tag(s.ID))
	if err != nil {
		return Result{}, err
	}
	removed := 0
	for _, l := range left {
		if l.Tag != Tag(s.ID) {
			continue // a longer ID with ours as its prefix
		}
		if err := postgres.Remove(ctx, l.Dir); err != nil {
			return Result{}, err
		}
		removed++
	}
	if kind := targetKind(s.Task.Params.Object("target")); cloudTarget(kind) {
		teardown := d.teardownRDS
		if kind == TargetAzure {
			teardown = d.teardownAzure
		}
		msg, err := teardown(ctx, s)
		if err != nil {
			return Result{}, err
		}
		if err := os.RemoveAll(d.drillDir(s.ID)); err != nil {
			return Result{}, err
		}
		return Result{Message: msg}, nil
	}
	containers := 0
	if targetKind(s.Task.Params.Object("target")) == TargetDocker {
		_, marked := os.Stat(filepath.Join(d.drillDir(s.ID), "docker"))
		eng, err := dockerpg.Connect(s.Task.Params.Object("target").String("dockerHost"))
		switch {
		case err != nil && marked == nil:
			// A container may exist: keep trying (the activity retries).
			return Result{}, fmt.Errorf("remove the drill's container: %w", err)
		case err == nil:
			if containers, err = eng.Remove(ctx, Tag(s.ID)); err != nil {
				return Result{}, err
			}
		}
	}
	if err := os.RemoveAll(d.drillDir(s.ID)); err != nil {
		return Result{}, err
	}
	if removed+containers > 0 {
		d.logger.Info("drill target torn down", "drill", s.ID, "clusters", removed, "containers", containers)
	}
	return Result{Message: fmt.Sprintf("torn down: %d clusters, %d containers removed", removed, containers)}, nil
}

// passwordAlphabet is what scratch targets' passwords are drawn from:
// letters and digits that cannot be mistaken for one another.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// newPassword draws a scratch target's superuser password: 32
// characters, uniformly from passwordAlphabet.
func newPassword() ([]byte, error) {
	out := make([]byte, 32)
	for i := range out {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			return nil, err
		}
		out[i] = passwordAlphabet[k.Int64()]
	}
	return out, nil
}

// mib writes a size in MiB, for messages (metrics carry bytes).
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
