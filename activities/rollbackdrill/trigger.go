package rollbackdrill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/appservice"
	"github.com/shipshape-dev/shipshape/internal/tail"
)

// slotSwapper swaps App Service deployment slots and waits until the
// swap is done.
type slotSwapper interface {
	SwapSlot(ctx context.Context, site string, slot, targetSlot string, preserveVnet bool) error
}

var _ slotSwapper = (*appservice.Client)(nil)

// envName is the shape of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// commandGrace is how long a trigger command stopped by the timeout has
// between SIGTERM and SIGKILL.
const commandGrace = 3 * time.Second

// trigger is one way of switching the service, checked.
type trigger struct {
	// param is where the plan wrote it: trigger or rollForward.
	param string
	kind  string // argv, webhook, azure-slot-swap

	argv []string
	env  []string

	url     *url.URL
	method  string
	body    string
	headers map[string]string
	// headerEnv names the worker's environment variables holding header
	// values (secrets): header → variable.
	headerEnv map[string]string

	site             appservice.SiteID
	slot, targetSlot string
	preserveVnet     bool
}

// String names the trigger for errors and the report, without a
// webhook's query (where tokens go) or a command's arguments.
func (t trigger) String() string {
	switch t.kind {
	case "argv":
		return "argv " + t.argv[0]
	case "webhook":
		return "webhook " + t.method + " " + t.url.Scheme + "://" + t.url.Host + t.url.EscapedPath()
	}
	return fmt.Sprintf("azure-slot-swap of %s: %s with %s", t.site.Name, t.slot, t.targetSlot)
}

// parseTrigger checks the trigger object written at param.
func parseTrigger(p task.Params, param string) (trigger, error) {
	t := trigger{param: param}
	switch {
	case p["argv"] != nil:
		t.kind = "argv"
		raw, _ := p["argv"].([]any)
		t.argv = p.Strings("argv")
		if len(t.argv) == 0 || (raw != nil && len(raw) != len(t.argv)) || t.argv[0] == "" {
			return t, task.InvalidParams("%s.argv: want a non-empty list of strings, the program first", param)
		}
		extra := p.StringMap("env")
		for _, k := range slices.Sorted(maps.Keys(extra)) {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return t, task.InvalidParams("%s.env: %q is not a valid variable name", param, k)
			}
			t.env = append(t.env, k+"="+extra[k])
		}
	case p["webhook"] != nil:
		t.kind = "webhook"
		w := p.Object("webhook")
		u, err := url.Parse(w.String("url"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return t, task.InvalidParams("%s.webhook.url: want an absolute http:// or https:// URL", param)
		}
		t.url, t.body, t.headers, t.headerEnv = u, w.String("body"), w.StringMap("headers"), w.StringMap("headersFromEnv")
		for _, h := range slices.Sorted(maps.Keys(t.headerEnv)) {
			if !envName.MatchString(t.headerEnv[h]) {
				return t, task.InvalidParams("%s.webhook.headersFromEnv.%s: %q is not an environment variable name", param, h, t.headerEnv[h])
			}
		}
		t.method = strings.ToUpper(w.String("method"))
		if t.method == "" {
			t.method = http.MethodPost
		}
	case p["azureSlotSwap"] != nil:
		t.kind = "azure-slot-swap"
		s := p.Object("azureSlotSwap")
		site, err := appservice.ParseSiteID(s.String("app"))
		if err != nil {
			return t, task.InvalidParams("%s.azureSlotSwap.app: %v", param, err)
		}
		t.site, t.slot, t.targetSlot = site, s.String("slot"), s.String("targetSlot")
		if t.targetSlot == "" {
			t.targetSlot = appservice.Production
		}
		t.preserveVnet = true
		if _, set := s["preserveVnet"]; set {
			t.preserveVnet = s.Bool("preserveVnet")
		}
		if t.slot == "" || strings.EqualFold(t.slot, t.targetSlot) {
			return t, task.InvalidParams("%s.azureSlotSwap: want a slot other than targetSlot %q", param, t.targetSlot)
		}
	default:
		return t, task.InvalidParams("%s: want one of argv, webhook and azureSlotSwap", param)
	}
	return t, nil
}

// fire runs the trigger until it is done. A parameter that cannot work
// (a program that does not exist, an app Azure does not know) is a
// task.InvalidParams error; any other failure is returned as it is.
// IdempotencyEnv and IdempotencyHeader carry a switch's idempotency
// key to a command and to a webhook: <run>/<phase>/<task>/rollback (or
// /rollforward), the same when the task starts again after its worker
// was lost mid-switch (see docs/reliability.md), so a deployment tool can
// refuse to switch twice.
const (
	IdempotencyEnv    = "SHIPSHAPE_IDEMPOTENCY_KEY"
	IdempotencyHeader = "Idempotency-Key"
)

func (d *drill) fire(ctx context.Context, t trigger, key string) error {
	switch t.kind {
	case "argv":
		return d.runCommand(ctx, t, key)
	case "webhook":
		return d.callWebhook(ctx, t, key)
	}
	return d.swapSlot(ctx, t)
}

// runCommand runs argv in its own process group, which dies with the
// worker (parent-death signal) and is killed whole when ctx ends.
func (d *drill) runCommand(ctx context.Context, t trigger, key string) error {
	out := tail.New(20)
	cmd := exec.CommandContext(ctx, t.argv[0], t.argv[1:]...)
	cmd.Env = append(append(os.Environ(), t.env...), IdempotencyEnv+"="+key)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return signalGroup(cmd.Process, syscall.SIGTERM) }
	cmd.WaitDelay = commandGrace
	// Pdeathsig is sent when the thread that started the child exits:
	// keep this goroutine on its thread until the child is started.
	runtime.LockOSThread()
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return task.InvalidParams("%s.argv: start %s: %v", t.param, t.argv[0], err)
		}
		return fmt.Errorf("start %s: %w", t.argv[0], err)
	}
	err = cmd.Wait()
	_ = signalGroup(cmd.Process, syscall.SIGKILL)
	if ctx.Err() != nil {
		return fmt.Errorf("stopped: %w", ctx.Err())
	}
	if err != nil {
		msg := err.Error()
		if last := out.LastLine(); last != "" {
			msg += ": " + last
		}
		return errors.New(msg)
	}
	return nil
}

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if p == nil {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// callWebhook sends the webhook's request; a status outside 200-299
// fails it.
func (d *drill) callWebhook(ctx context.Context, t trigger, key string) error {
	var body io.Reader
	if t.body != "" {
		body = strings.NewReader(t.body)
	}
	req, err := http.NewRequestWithContext(ctx, t.method, t.url.String(), body)
	if err != nil {
		return task.InvalidParams("%s.webhook: %v", t.param, err)
	}
	req.Header.Set(IdempotencyHeader, key) // unless the plan sets its own
	for _, k := range slices.Sorted(maps.Keys(t.headers)) {
		if strings.EqualFold(k, "Host") {
			req.Host = t.headers[k]
			continue
		}
		req.Header.Set(k, t.headers[k])
	}
	for _, k := range slices.Sorted(maps.Keys(t.headerEnv)) {
		v := os.Getenv(t.headerEnv[k])
		if v == "" {
			return task.Failed(task.Output{}, true, "%s.webhook.headersFromEnv.%s: the environment variable %s is empty where the worker runs", t.param, k, t.headerEnv[k])
		}
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		// The error names the URL, query and all: say it without.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := "status " + resp.Status
		if s := strings.TrimSpace(firstLine(string(text))); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// swapSlot swaps the slots through the App Service API.
func (d *drill) swapSlot(ctx context.Context, t trigger) error {
	c, err := d.appService(t.site.Subscription)
	if err != nil {
		return err
	}
	err = c.SwapSlot(ctx, t.site.String(), t.slot, t.targetSlot, t.preserveVnet)
	if errors.Is(err, appservice.ErrNotFound) || errors.Is(err, appservice.ErrRejected) {
		return task.InvalidParams("%s.azureSlotSwap: %v", t.param, err)
	}
	return err
}

func (d *drill) appService(subscription string) (slotSwapper, error) {
	if d.cfg.AppService != nil {
		return d.cfg.AppService(subscription)
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	return appservice.New(subscription, cred, nil)
}
