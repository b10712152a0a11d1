package provider

import (
	"context"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
)

// A no-op plan of a fleet calls Read and ModifyPlan of every resource; the
// plugin framework's conversion of a whole resource to a model and back is
// most of what the provider's own code costs there. These spare it when
// nothing changed.

// unchangedPlan says whether OpenTofu proposes exactly the prior state:
// the configuration is as applied and the refresh found nothing new, so
// whatever ModifyPlan derives from the plan is in it already.
func unchangedPlan(req resource.ModifyPlanRequest) bool {
	return !req.State.Raw.IsNull() && req.Plan.Raw.Equal(req.State.Raw)
}

// setIfChanged writes a refreshed model to state only when the refresh
// changed it: Read starts from the prior state.
func setIfChanged(ctx context.Context, state *tfsdk.State, prior, refreshed any) diag.Diagnostics {
	if reflect.DeepEqual(prior, refreshed) {
		return nil
	}
	return state.Set(ctx, refreshed)
}
