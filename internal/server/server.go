// Package server serves the provider over the plugin protocol, working
// around terraform-plugin-framework (v1.19) keeping the context of every
// request it ever served: it registers a cancel function per request, so
// that StopProvider can cancel them, and forgets them only then. Each such
// context holds the request's loggers (tens of KiB), so a provider process
// serving a plan of 5000 resources (20,000 requests) held hundreds of MiB,
// and spent most of its CPU collecting garbage under its memory limit. The
// framework is handed a context that lets go of the request's once the
// request is answered (requestctx).
package server

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/fediversity/terraform-provider-fediversity/internal/requestctx"
)

// New is the framework's protocol 6 server for p, with that workaround.
func New(p provider.Provider) tfprotov6.ProviderServer {
	return releasingServer{providerserver.NewProtocol6(p)()}
}

// releasingServer hands the framework a releasable context on the requests
// a plan or apply makes once per resource; the others are few.
type releasingServer struct {
	tfprotov6.ProviderServer
}

func (s releasingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return serve(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s releasingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return serve(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s releasingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return serve(ctx, req, s.ProviderServer.ReadResource)
}

func (s releasingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return serve(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s releasingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return serve(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s releasingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return serve(ctx, req, s.ProviderServer.ValidateDataResourceConfig)
}

func (s releasingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return serve(ctx, req, s.ProviderServer.ReadDataSource)
}

func serve[Req, Resp any](ctx context.Context, req Req, handle func(context.Context, Req) (Resp, error)) (Resp, error) {
	ctx, release := requestctx.New(ctx)
	defer release()
	return handle(ctx, req)
}
