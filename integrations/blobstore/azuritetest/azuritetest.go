// Package azuritetest runs Azurite, Microsoft's Azure Storage emulator
// (npm package azurite), for tests of the Azure Blob store and of the
// backups and drills kept in it.
package azuritetest

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Account and Key are Azurite's well-known development account.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running Azurite blob service with one container.
type Server struct {
	// Endpoint is the blob service URL: http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint  string
	Container string
}

var listening = regexp.MustCompile(`listens on (http://\S+)`)

// Start runs azurite-blob (in memory, on a free loopback port) until the
// test ends, creates container, and sets AZURE_STORAGE_CONNECTION_STRING
// for it (so a worker started by the test inherits it). Without the
// azurite-blob binary the test is skipped, or fails when CI is set:
// .ci/run installs it.
func Start(t testing.TB, container string) *Server {
	t.Helper()
	bin, err := exec.LookPath("azurite-blob")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("azurite-blob not found: CI installs it with `npm install -g azurite`")
		}
		t.Skip("azurite-blob not found (npm install -g azurite): skipping the Azure Blob test")
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
		"--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("azurite did not start listening within 30s")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Endpoint: "http://" + u.Host + "/" + Account, Container: container}
	cs := "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + s.Endpoint + ";"
	client, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.CreateContainer(ctx, container, nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", cs)
	return s
}

// URL is a storage URL for prefix in the server's container.
func (s *Server) URL(prefix string) string {
	return "azblob://" + Account + "/" + s.Container + "/" + prefix + "?endpoint=" + url.QueryEscape(s.Endpoint)
}
