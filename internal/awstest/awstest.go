// Package awstest points the AWS SDK's default configuration at static
// test credentials, for tests against local AWS protocol servers.
package awstest

import "testing"

// Credentials sets static credentials and a region in the environment
// until the test ends, and keeps the SDK from reading the user's AWS
// files or the instance metadata service (a worker the test starts
// inherits the same).
func Credentials(t testing.TB) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "shipshape-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "shipshape-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}
