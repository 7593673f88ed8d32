package awssm_test

import (
	"context"
	"slices"
	"testing"

	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/awssm"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/awssmtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/storetest"
)

// TestAWSStagingAgainstProtocolFake runs the staging model through the
// real aws-sdk-go-v2 Secrets Manager client against awssmtest, a
// protocol-level fake (not AWS) that enforces the service's label and
// version rules.
func TestAWSStagingAgainstProtocolFake(t *testing.T) {
	fake := awssmtest.Start(t)
	s, err := awssm.New(context.Background(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Staging(t, s)
	// On the service's side: AWSPREVIOUS moved with AWSCURRENT, and the
	// discarded version is left without labels (deprecated).
	stages := fake.Stages("db")
	if !slices.Equal(stages[storetest.Tok("v1")], []string{"AWSPREVIOUS"}) || !slices.Equal(stages[storetest.Tok("v2")], []string{"AWSCURRENT"}) || len(stages[storetest.Tok("v3")]) != 0 {
		t.Fatalf("labels in the service: %v", stages)
	}
	calls := fake.Calls()
	if !slices.Contains(calls, "UpdateSecretVersionStage") || !slices.Contains(calls, "CreateSecret") {
		t.Fatalf("calls %v", calls)
	}
	// A token AWS would refuse is refused.
	if _, err := s.Put(context.Background(), "db", "short", []byte("x"), secretstore.Pending); err == nil {
		t.Fatal("a 5-character ClientRequestToken was accepted")
	}
}
