// Package plugins lists the built-in provider plugins. Each provider is one
// package under plugins/, named after its id; All is the explicit list the
// gateway builds its registry from, and all_test.go fails when a provider
// folder is missing from it.
package plugins

import (
	"github.com/edgehook/edgehook/plugins/airtable"
	"github.com/edgehook/edgehook/plugins/asana"
	"github.com/edgehook/edgehook/plugins/attio"
	"github.com/edgehook/edgehook/plugins/bitbucket"
	"github.com/edgehook/edgehook/plugins/box"
	"github.com/edgehook/edgehook/plugins/calendly"
	"github.com/edgehook/edgehook/plugins/clerk"
	"github.com/edgehook/edgehook/plugins/discord"
	"github.com/edgehook/edgehook/plugins/docusign"
	"github.com/edgehook/edgehook/plugins/dropbox"
	"github.com/edgehook/edgehook/plugins/github"
	"github.com/edgehook/edgehook/plugins/gitlab"
	"github.com/edgehook/edgehook/plugins/hmac"
	"github.com/edgehook/edgehook/plugins/hubspot"
	"github.com/edgehook/edgehook/plugins/intercom"
	"github.com/edgehook/edgehook/plugins/jira"
	"github.com/edgehook/edgehook/plugins/linear"
	"github.com/edgehook/edgehook/plugins/mailgun"
	"github.com/edgehook/edgehook/plugins/meta"
	"github.com/edgehook/edgehook/plugins/msgraph"
	"github.com/edgehook/edgehook/plugins/notion"
	"github.com/edgehook/edgehook/plugins/okta"
	"github.com/edgehook/edgehook/plugins/paddle"
	"github.com/edgehook/edgehook/plugins/pagerduty"
	"github.com/edgehook/edgehook/plugins/pubsub"
	"github.com/edgehook/edgehook/plugins/salesforce"
	"github.com/edgehook/edgehook/plugins/sendgrid"
	"github.com/edgehook/edgehook/plugins/sentry"
	"github.com/edgehook/edgehook/plugins/shopify"
	"github.com/edgehook/edgehook/plugins/slack"
	"github.com/edgehook/edgehook/plugins/square"
	"github.com/edgehook/edgehook/plugins/standardwebhooks"
	"github.com/edgehook/edgehook/plugins/streak"
	"github.com/edgehook/edgehook/plugins/stripe"
	"github.com/edgehook/edgehook/plugins/twilio"
	"github.com/edgehook/edgehook/plugins/twitch"
	"github.com/edgehook/edgehook/plugins/typeform"
	"github.com/edgehook/edgehook/plugins/xero"
	"github.com/edgehook/edgehook/plugins/zendesk"
	"github.com/edgehook/edgehook/plugins/zoom"
	"github.com/edgehook/edgehook/provider"
)

// All returns the built-in providers, in id order.
func All() []provider.Provider {
	return []provider.Provider{
		airtable.Provider,
		asana.Provider,
		attio.Provider,
		bitbucket.Provider,
		box.Provider,
		calendly.Provider,
		clerk.Provider,
		discord.Provider{},
		docusign.Provider,
		dropbox.Provider,
		github.Provider,
		gitlab.Provider,
		hmac.Provider{},
		hubspot.Provider{},
		intercom.Provider,
		jira.Provider{},
		linear.Provider,
		mailgun.Provider{},
		meta.Provider{},
		msgraph.Provider{},
		notion.Provider,
		okta.Provider{},
		paddle.Provider,
		pagerduty.Provider,
		pubsub.Provider{},
		salesforce.Provider{},
		sendgrid.Provider{},
		sentry.Provider,
		shopify.Provider{},
		slack.Provider{},
		square.Provider,
		standardwebhooks.Provider{},
		streak.Provider{},
		stripe.Provider,
		twilio.Provider{},
		twitch.Provider,
		typeform.Provider,
		xero.Provider{},
		zendesk.Provider,
		zoom.Provider{},
	}
}
