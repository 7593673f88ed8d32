// Package awssm is the secret store of AWS Secrets Manager, with the
// staging model of package secretstore mapped on its staging labels.
package awssm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
)

// AWS staging labels, by the stages of package secretstore.
var awsStages = map[string]string{secretstore.Current: "AWSCURRENT", secretstore.Pending: "AWSPENDING", secretstore.Previous: "AWSPREVIOUS"}

// Store is AWS Secrets Manager in one region. Versions are Secrets
// Manager's own, their IDs the request tokens that created them, and the
// stages its staging labels: current is AWSCURRENT, pending AWSPENDING,
// previous AWSPREVIOUS (which Secrets Manager moves itself when
// AWSCURRENT moves). Values are SecretString.
type Store struct {
	client *secretsmanager.Client
	region string
}

// New returns a client of Secrets Manager in region with the AWS
// SDK's default configuration and credentials chain; the endpoint may be
// overridden as for any SDK client (AWS_ENDPOINT_URL_SECRETS_MANAGER).
func New(ctx context.Context, region string) (*Store, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("secretstore: aws config: %w", err)
	}
	return &Store{client: secretsmanager.NewFromConfig(cfg), region: region}, nil
}

func awsNotFound(err error) bool {
	var nf *smtypes.ResourceNotFoundException
	return errors.As(err, &nf)
}

func awsStage(stage string) (string, error) {
	if s, ok := awsStages[stage]; ok {
		return s, nil
	}
	return "", fmt.Errorf("secretstore: unknown stage %q", stage)
}

// ourStages maps Secrets Manager labels back, keeping only ours.
func ourStages(labels []string) []string {
	var out []string
	for ours, theirs := range awsStages {
		if slices.Contains(labels, theirs) {
			out = append(out, ours)
		}
	}
	slices.Sort(out)
	return out
}

// Get returns the value and version that carry stage.
func (s *Store) Get(ctx context.Context, name, stage string) ([]byte, secretstore.Version, error) {
	label, err := awsStage(stage)
	if err != nil {
		return nil, secretstore.Version{}, err
	}
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &name, VersionStage: &label})
	if awsNotFound(err) {
		return nil, secretstore.Version{}, fmt.Errorf("%w: %s has no %s version (%v)", secretstore.ErrNotFound, name, stage, err)
	}
	if err != nil {
		return nil, secretstore.Version{}, fmt.Errorf("secretstore: get %s: %w", name, err)
	}
	v := secretstore.Version{ID: aws.ToString(out.VersionId), Stages: ourStages(out.VersionStages)}
	if out.CreatedDate != nil {
		v.Created = out.CreatedDate.UTC()
	}
	if out.SecretString == nil {
		return nil, secretstore.Version{}, fmt.Errorf("secretstore: %s version %s holds a binary value; rotation handles SecretString", name, v.ID)
	}
	return []byte(*out.SecretString), v, nil
}

// Put stores value as a new version with token as its ClientRequestToken
// (32 to 64 characters), carrying stages. Repeated with the same token
// and value it does nothing; with another value it fails with
// secretstore.ErrTokenConflict. A secret that does not exist yet is created first,
// empty.
func (s *Store) Put(ctx context.Context, name, token string, value []byte, stages ...string) (secretstore.Version, error) {
	labels := make([]string, 0, len(stages))
	for _, st := range stages {
		l, err := awsStage(st)
		if err != nil {
			return secretstore.Version{}, err
		}
		labels = append(labels, l)
	}
	in := &secretsmanager.PutSecretValueInput{SecretId: &name, ClientRequestToken: &token,
		SecretString: aws.String(string(value)), VersionStages: labels}
	out, err := s.client.PutSecretValue(ctx, in)
	if awsNotFound(err) {
		if _, cerr := s.client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name,
			Description: aws.String("rotated by shipshape")}); cerr != nil {
			var exists *smtypes.ResourceExistsException
			if !errors.As(cerr, &exists) {
				return secretstore.Version{}, fmt.Errorf("secretstore: create %s: %w", name, cerr)
			}
		}
		out, err = s.client.PutSecretValue(ctx, in)
	}
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		return secretstore.Version{}, fmt.Errorf("secret %s: token %s: %w", name, token, secretstore.ErrTokenConflict)
	}
	if err != nil {
		return secretstore.Version{}, fmt.Errorf("secretstore: put %s: %w", name, err)
	}
	return secretstore.Version{ID: aws.ToString(out.VersionId), Stages: ourStages(out.VersionStages)}, nil
}

// stagesOf returns the labels of every labelled version.
func (s *Store) stagesOf(ctx context.Context, name string) (map[string][]string, error) {
	out, err := s.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if awsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", secretstore.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("secretstore: describe %s: %w", name, err)
	}
	return out.VersionIdsToStages, nil
}

// holder is the version carrying label, "" if none.
func holder(stages map[string][]string, label string) string {
	for id, labels := range stages {
		if slices.Contains(labels, label) {
			return id
		}
	}
	return ""
}

// Promote moves AWSCURRENT to version id (UpdateSecretVersionStage, so
// Secrets Manager moves AWSPREVIOUS to the old current) and takes
// AWSPENDING off it. Promoting the current version again changes nothing.
func (s *Store) Promote(ctx context.Context, name, id string) error {
	stages, err := s.stagesOf(ctx, name)
	if err != nil {
		return err
	}
	if _, ok := stages[id]; !ok {
		return fmt.Errorf("%w: %s has no version %s", secretstore.ErrNotFound, name, id)
	}
	if cur := holder(stages, "AWSCURRENT"); cur != id {
		in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: &name, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: &id}
		if cur != "" {
			in.RemoveFromVersionId = &cur
		}
		if _, err := s.client.UpdateSecretVersionStage(ctx, in); err != nil {
			return fmt.Errorf("secretstore: promote %s version %s: %w", name, id, err)
		}
	}
	if slices.Contains(stages[id], "AWSPENDING") {
		if _, err := s.client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: &name, VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: &id}); err != nil {
			return fmt.Errorf("secretstore: %s version %s: remove AWSPENDING: %w", name, id, err)
		}
	}
	return nil
}

// Discard takes AWSPENDING (and AWSPREVIOUS) off version id, unless it
// is current. Secrets Manager cannot delete a version: one without
// labels is deprecated, and the service removes it in time. A version
// that is gone or unlabelled is not an error.
func (s *Store) Discard(ctx context.Context, name, id string) error {
	stages, err := s.stagesOf(ctx, name)
	if err != nil {
		return err
	}
	labels := stages[id]
	if slices.Contains(labels, "AWSCURRENT") {
		return fmt.Errorf("secret %s: version %s is current and cannot be discarded", name, id)
	}
	for _, l := range labels {
		if !strings.HasPrefix(l, "AWS") {
			continue
		}
		if _, err := s.client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: &name, VersionStage: aws.String(l), RemoveFromVersionId: &id}); err != nil {
			return fmt.Errorf("secretstore: %s version %s: remove %s: %w", name, id, l, err)
		}
	}
	return nil
}

// Versions lists a secret's labelled versions.
func (s *Store) Versions(ctx context.Context, name string) ([]secretstore.Version, error) {
	var out []secretstore.Version
	p := secretsmanager.NewListSecretVersionIdsPaginator(s.client, &secretsmanager.ListSecretVersionIdsInput{SecretId: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awsNotFound(err) {
			return nil, fmt.Errorf("%w: %s", secretstore.ErrNotFound, name)
		}
		if err != nil {
			return nil, fmt.Errorf("secretstore: versions of %s: %w", name, err)
		}
		for _, v := range page.Versions {
			ver := secretstore.Version{ID: aws.ToString(v.VersionId), Stages: ourStages(v.VersionStages)}
			if v.CreatedDate != nil {
				ver.Created = v.CreatedDate.UTC()
			}
			out = append(out, ver)
		}
	}
	slices.SortFunc(out, func(a, b secretstore.Version) int { return a.Created.Compare(b.Created) })
	return out, nil
}
