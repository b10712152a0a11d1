package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Resources reach what they build on through objects passed along by the
// configuration: fediversity_host.endpoint goes into a runtime's host,
// fediversity_runtime.target into an operator's runtime, and
// fediversity_operator.target into an application's operator. Each object
// holds configuration values only, so it is known at plan time.

var (
	connectionTypes = map[string]attr.Type{
		"address": types.StringType, "port": types.Int64Type, "user": types.StringType, "host_key": types.StringType,
	}
	runtimeTargetTypes = map[string]attr.Type{
		"host": types.ObjectType{AttrTypes: connectionTypes}, "name": types.StringType,
		"kind": types.StringType, "container": types.StringType, "address": types.StringType,
	}
	operatorTargetTypes = map[string]attr.Type{
		"runtime": types.ObjectType{AttrTypes: runtimeTargetTypes}, "name": types.StringType, "domain": types.StringType,
	}
)

// runtimeTargetModel is a runtime as its operators see it: where it is
// and where its services answer. How it builds (nixpkgs, generations kept)
// is read from its runtime.json on the host, so that changing it does not
// ripple through every operator.
type runtimeTargetModel struct {
	Host      connectionModel `tfsdk:"host"`
	Name      types.String    `tfsdk:"name"`
	Kind      types.String    `tfsdk:"kind"`
	Container types.String    `tfsdk:"container"` // null for kind host
	// Address is where the runtime's web and mail services answer: the
	// host's for kind host, the container's own for kind container (unknown
	// until the container is created).
	Address types.String `tfsdk:"address"`
}

// isContainer says whether the runtime is a NixOS container.
func (t runtimeTargetModel) isContainer() bool {
	return t.Kind.ValueString() == runtimeKindContainer
}

// operatorTargetModel is an operator as its applications see it.
type operatorTargetModel struct {
	Runtime runtimeTargetModel `tfsdk:"runtime"`
	Name    types.String       `tfsdk:"name"`
	Domain  types.String       `tfsdk:"domain"`
}

// objectOf turns a model into the object value of a computed target; it is
// unknown while any of its parts is.
func objectOf(ctx context.Context, attrTypes map[string]attr.Type, model any, parts ...attr.Value) (basetypes.ObjectValue, diag.Diagnostics) {
	if anyUnknown(parts...) {
		return basetypes.NewObjectUnknown(attrTypes), nil
	}
	return basetypes.NewObjectValueFrom(ctx, attrTypes, model)
}

// connectionAttribute is a host as the resources on it take it.
func connectionAttribute(description string) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Required:            true,
		MarkdownDescription: description,
		Attributes: map[string]schema.Attribute{
			"address": schema.StringAttribute{Required: true, MarkdownDescription: addressDescription, Validators: []validator.String{addressValidator()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"port":     schema.Int64Attribute{Required: true, MarkdownDescription: "SSH port.", Validators: []validator.Int64{int64validator.Between(1, 65535)}},
			"user":     schema.StringAttribute{Optional: true, MarkdownDescription: userDescription, Validators: []validator.String{userValidator()}},
			"host_key": schema.StringAttribute{Optional: true, MarkdownDescription: hostKeyDescription, Validators: []validator.String{hostKeyValidator()}},
		},
	}
}

// runtimeTargetAttribute is a runtime as its operators take it.
func runtimeTargetAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Required:            true,
		MarkdownDescription: "The runtime the operator lives on: `fediversity_runtime.<name>.target`.",
		Attributes: map[string]schema.Attribute{
			"host": connectionAttribute("The runtime's host."),
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "The runtime's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"kind": schema.StringAttribute{Optional: true, MarkdownDescription: "The runtime's kind; unset is `host`.",
				Validators:    []validator.String{stringvalidator.OneOf(runtimeKindHost, runtimeKindContainer)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"container": schema.StringAttribute{Optional: true, MarkdownDescription: "The runtime's NixOS container.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"address": schema.StringAttribute{Optional: true, MarkdownDescription: "Where the runtime's services answer."},
		},
	}
}

// operatorTargetAttribute is an operator as its applications take it.
func operatorTargetAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Required:            true,
		MarkdownDescription: "The operator the application belongs to: `fediversity_operator.<name>.target`.",
		Attributes: map[string]schema.Attribute{
			"runtime": runtimeTargetAttribute(),
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "The operator's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"domain": schema.StringAttribute{Required: true, MarkdownDescription: "The operator's domain."},
		},
	}
}
