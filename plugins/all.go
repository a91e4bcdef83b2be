// Package plugins lists the built-in provider plugins. Each provider is one
// package under plugins/, named after its id; All is the explicit list the
// gateway builds its registry from, and all_test.go fails when a provider
// folder is missing from it.
package plugins

import (
	"github.com/edgehook/edgehook/plugins/discord"
	"github.com/edgehook/edgehook/plugins/github"
	"github.com/edgehook/edgehook/plugins/gitlab"
	"github.com/edgehook/edgehook/plugins/hmac"
	"github.com/edgehook/edgehook/plugins/hubspot"
	"github.com/edgehook/edgehook/plugins/jira"
	"github.com/edgehook/edgehook/plugins/linear"
	"github.com/edgehook/edgehook/plugins/mailgun"
	"github.com/edgehook/edgehook/plugins/msgraph"
	"github.com/edgehook/edgehook/plugins/okta"
	"github.com/edgehook/edgehook/plugins/pubsub"
	"github.com/edgehook/edgehook/plugins/salesforce"
	"github.com/edgehook/edgehook/plugins/sendgrid"
	"github.com/edgehook/edgehook/plugins/shopify"
	"github.com/edgehook/edgehook/plugins/slack"
	"github.com/edgehook/edgehook/plugins/standardwebhooks"
	"github.com/edgehook/edgehook/plugins/streak"
	"github.com/edgehook/edgehook/plugins/stripe"
	"github.com/edgehook/edgehook/plugins/twilio"
	"github.com/edgehook/edgehook/provider"
)

// All returns the built-in providers, in id order.
func All() []provider.Provider {
	return []provider.Provider{
		discord.Provider{},
		github.Provider,
		gitlab.Provider,
		hmac.Provider{},
		hubspot.Provider{},
		jira.Provider{},
		linear.Provider,
		mailgun.Provider{},
		msgraph.Provider{},
		okta.Provider{},
		pubsub.Provider{},
		salesforce.Provider{},
		sendgrid.Provider{},
		shopify.Provider{},
		slack.Provider{},
		standardwebhooks.Provider{},
		streak.Provider{},
		stripe.Provider,
		twilio.Provider{},
	}
}
