// Package azurepg restores Azure Database for PostgreSQL flexible
// servers to a point in time into scratch servers for restore drills,
// and deletes them (azure-sdk-for-go's armpostgresqlflexibleservers).
package azurepg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	pg "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers"

	"github.com/shipshape-dev/shipshape/internal/armid"
)

// TagKey tags the servers drills make; its value is the drill's tag.
const TagKey = "shipshape-drill"

// serverType is the resource type of a flexible server.
const serverType = "Microsoft.DBforPostgreSQL/flexibleServers"

// ServerID is a flexible server's resource ID, parsed.
type ServerID struct {
	Subscription, ResourceGroup, Name string
}

// ParseServerID reads
// /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/NAME.
func ParseServerID(id string) (ServerID, error) {
	i, err := armid.Parse(id, serverType, "a flexible server's")
	return ServerID(i), err
}

func (s ServerID) String() string { return armid.ID(s).Format(serverType) }

// Client is the flexible servers of one subscription.
type Client struct {
	servers *pg.ServersClient
	// PollFrequency is how often long-running operations are polled
	// (0: 30 s).
	PollFrequency time.Duration
}

// New returns a client for subscription; opts may be nil (Azure's
// public cloud).
func New(subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Client, error) {
	c, err := pg.NewServersClient(subscription, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{servers: c}, nil
}

func (c *Client) poll() *runtime.PollUntilDoneOptions {
	f := c.PollFrequency
	if f == 0 {
		f = 30 * time.Second
	}
	return &runtime.PollUntilDoneOptions{Frequency: f}
}

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// Server is a flexible server.
type Server struct {
	Location, State, Host, User string
	// EarliestRestore is the oldest point in time the server can be
	// restored to (zero when Azure does not say).
	EarliestRestore time.Time
}

// Get returns a server; found is false when it does not exist.
func (c *Client) Get(ctx context.Context, id ServerID) (s Server, found bool, err error) {
	resp, err := c.servers.Get(ctx, id.ResourceGroup, id.Name, nil)
	if notFound(err) {
		return Server{}, false, nil
	}
	if err != nil {
		return Server{}, false, fmt.Errorf("get %s: %w", id.Name, err)
	}
	s = Server{Location: deref(resp.Location)}
	if p := resp.Properties; p != nil {
		s.Host, s.User = deref(p.FullyQualifiedDomainName), deref(p.AdministratorLogin)
		if p.State != nil {
			s.State = string(*p.State)
		}
		if p.Backup != nil && p.Backup.EarliestRestoreDate != nil {
			s.EarliestRestore = *p.Backup.EarliestRestoreDate
		}
	}
	return s, true, nil
}

// Restore restores source as it was at point into a new server target,
// tagged with tag, and waits until it is ready. A target that exists
// already (a retried restore) is waited for instead.
func (c *Client) Restore(ctx context.Context, source, target ServerID, location string, point time.Time, tag string) (Server, error) {
	if _, found, err := c.Get(ctx, target); err != nil {
		return Server{}, err
	} else if !found {
		poller, err := c.servers.BeginCreate(ctx, target.ResourceGroup, target.Name, pg.Server{
			Location: to.Ptr(location),
			Tags:     map[string]*string{TagKey: to.Ptr(tag)},
			Properties: &pg.ServerProperties{
				CreateMode:             to.Ptr(pg.CreateModePointInTimeRestore),
				SourceServerResourceID: to.Ptr(source.String()),
				PointInTimeUTC:         to.Ptr(point.UTC()),
			},
		}, nil)
		if err != nil {
			return Server{}, fmt.Errorf("restore %s at %s into %s: %w", source.Name, point.Format(time.RFC3339), target.Name, err)
		}
		if _, err := poller.PollUntilDone(ctx, c.poll()); err != nil {
			return Server{}, fmt.Errorf("restore %s into %s: %w", source.Name, target.Name, err)
		}
	}
	return c.waitReady(ctx, target)
}

// waitReady polls until the server's state is Ready.
func (c *Client) waitReady(ctx context.Context, id ServerID) (Server, error) {
	for {
		s, found, err := c.Get(ctx, id)
		if err != nil {
			return Server{}, err
		}
		if !found {
			return Server{}, fmt.Errorf("server %s is gone", id.Name)
		}
		if s.State == string(pg.ServerStateReady) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return Server{}, ctx.Err()
		case <-time.After(c.poll().Frequency):
		}
	}
}

// SetPassword gives the server's administrator a new password.
func (c *Client) SetPassword(ctx context.Context, id ServerID, password string) (Server, error) {
	poller, err := c.servers.BeginUpdate(ctx, id.ResourceGroup, id.Name, pg.ServerForUpdate{
		Properties: &pg.ServerPropertiesForUpdate{AdministratorLoginPassword: to.Ptr(password)},
	}, nil)
	if err != nil {
		return Server{}, fmt.Errorf("set the administrator password of %s: %w", id.Name, err)
	}
	if _, err := poller.PollUntilDone(ctx, c.poll()); err != nil {
		return Server{}, fmt.Errorf("set the administrator password of %s: %w", id.Name, err)
	}
	return c.waitReady(ctx, id)
}

// Delete deletes the server and waits until it is gone; a server that is
// gone already is not an error.
func (c *Client) Delete(ctx context.Context, id ServerID) (deleted bool, err error) {
	if _, found, err := c.Get(ctx, id); err != nil || !found {
		return false, err
	}
	poller, err := c.servers.BeginDelete(ctx, id.ResourceGroup, id.Name, nil)
	if notFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", id.Name, err)
	}
	if _, err := poller.PollUntilDone(ctx, c.poll()); err != nil && !notFound(err) {
		return true, fmt.Errorf("delete %s: %w", id.Name, err)
	}
	return true, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
