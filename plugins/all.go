// Package plugins lists the built-in provider plugins. Each provider is one
// package under plugins/, named after its id; All is the explicit list the
// gateway builds its registry from, and all_test.go fails when a provider
// folder is missing from it.
package plugins

import (
	"github.com/edgehook/edgehook/plugins/github"
	"github.com/edgehook/edgehook/plugins/hmac"
	"github.com/edgehook/edgehook/plugins/hubspot"
	"github.com/edgehook/edgehook/plugins/jira"
	"github.com/edgehook/edgehook/plugins/linear"
	"github.com/edgehook/edgehook/plugins/salesforce"
	"github.com/edgehook/edgehook/plugins/shopify"
	"github.com/edgehook/edgehook/plugins/slack"
	"github.com/edgehook/edgehook/plugins/standardwebhooks"
	"github.com/edgehook/edgehook/plugins/streak"
	"github.com/edgehook/edgehook/plugins/stripe"
	"github.com/edgehook/edgehook/provider"
)

// All returns the built-in providers, in id order.
func All() []provider.Provider {
	return []provider.Provider{
		github.Provider,
		hmac.Provider{},
		hubspot.Provider{},
		jira.Provider{},
		linear.Provider,
		salesforce.Provider{},
		shopify.Provider{},
		slack.Provider{},
		standardwebhooks.Provider{},
		streak.Provider{},
		stripe.Provider,
	}
}
