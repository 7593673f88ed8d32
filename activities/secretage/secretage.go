// Package secretage is the secret-age task type: how old a secret's
// current version is, checked against a maximum age, without rotating it.
package secretage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/internal/secretref"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "secret-age"

// Decl declares the task type: its parameters, metrics and checks.
var Decl = plan.TaskType{
	Name:    Name,
	Summary: "Reports how old a secret's current version is, and fails its check when it is older than `maxAge`, without rotating it.",
	Params: []plan.Param{
		{Name: "secret", Type: plan.TypeString, Required: true, Doc: "The secret's reference (`local://NAME`, `aws-sm://REGION/NAME`, `azkv://VAULT/NAME`)."},
		{Name: "maxAge", Type: plan.TypeDuration, Default: "0s", Doc: "Fail the check when the current version is older (0: never)."},
	},
	Metrics: []plan.Metric{
		{Name: "secret.age", Unit: plan.UnitSeconds, Doc: "Age of the current version."},
	},
	Timeout: time.Minute,
	Check: func(with map[string]any) []plan.ParamProblem {
		if _, err := secretstore.ParseRef(task.Params(with).String("secret")); err != nil {
			return []plan.ParamProblem{{Param: "secret", Msg: err.Error()}}
		}
		return nil
	},
}

// versions is what the task needs of a store: a version by its stage.
type versions interface {
	Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error)
}

var _ versions = secretref.Store(nil)

// Activities runs secret-age tasks on the stores a worker opens.
type Activities struct {
	stores secretref.Stores
}

// New returns the task type's activities, opening secrets in stores.
func New(stores secretref.Stores) *Activities {
	return &Activities{stores: stores}
}

// Type is the task type: its declaration and its activity.
func (a *Activities) Type() task.Type {
	return task.Type{Decl: Decl, Run: a.Run}
}

// Run reports the age of a secret's current version.
func (a *Activities) Run(ctx context.Context, in task.Input) (task.Output, error) {
	ref, err := secretstore.ParseRef(in.Params.String("secret"))
	if err != nil {
		return task.Output{}, task.InvalidParams("secret: %v", err)
	}
	var store versions
	if store, err = a.stores.Open(ctx, ref); err != nil {
		return task.Output{}, err
	}
	_, cur, err := store.Get(ctx, ref.Name, secretstore.Current)
	if errors.Is(err, secretstore.ErrNotFound) {
		return task.Output{}, task.InvalidParams("secret: %s has no current value", ref)
	}
	if err != nil {
		return task.Output{}, err
	}
	age := time.Since(cur.Created)
	out := task.Output{Metrics: map[string]float64{"secret.age": age.Seconds()},
		Output: fmt.Sprintf("%s: current version %s created %s (%s ago)", ref, cur.ID, cur.Created.Format(time.RFC3339), age.Round(time.Second))}
	if maxAge := in.Params.Duration("maxAge"); maxAge > 0 && age > maxAge {
		return out, task.CheckFailed(out, "%s is %s old, more than %s: rotate it", ref, age.Round(time.Second), maxAge)
	}
	return out, nil
}
