using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath;
using Patronus.Agent.Endpoints;
using Patronus.Agent.Mesh;
using Patronus.Agent.Paths;
using Patronus.Agent.Telemetry;
using Patronus.Agent.Policy;
using Patronus.Agent.Routes;
using Patronus.Agent.Services;
using Patronus.Agent.State;
using Patronus.Agent.Status;
using Patronus.Agent.Sync;

namespace Patronus.Agent.Hosting;

/// <summary>Builds the agent: settings, services, the endpoint socket and the HTTP endpoints for metrics and health.</summary>
public static class AgentHost
{
    public static WebApplication Build(string[] args, Action<IServiceCollection>? overrides = null)
    {
        AgentOptions.CheckArguments(args);
        // No file is ever reloaded, so nothing is watched: the default content root is the working directory, which is
        // "/" in a container or a daemon, and watching it takes tens of thousands of the node's inotify watches (the
        // limit is per user: wireguard-go's UAPI socket, kubelet and every other agent share it).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ApplicationName = "patronus-agent",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        var configFile = ConfigFile(args) ?? Environment.GetEnvironmentVariable("PATRONUS_AGENT_CONFIG");
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
                throw new AgentOptionsException($"option 'config': file '{configFile}' does not exist");
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        builder.Configuration.AddEnvironmentVariables("PATRONUS_AGENT_");
        builder.Configuration.AddCommandLine(args, AgentOptions.Switches.ToDictionary());
        AgentOptions options;
        try
        {
            options = AgentOptions.From(builder.Configuration);
        }
        catch (InvalidDataException e)
        {
            throw new AgentOptionsException($"option 'config': {e.Message}");
        }

        if (options.IsSite && Patronus.Netlink.Interop.Libc.Geteuid() != 0)
            throw new InvalidOperationException("a site must run as root: it creates the WireGuard device and its routes (try: sudo patronus-agent --site-name ...)");

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(json =>
        {
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        builder.Logging.SetMinimumLevel(Enum.TryParse<LogLevel>(builder.Configuration["logLevel"], ignoreCase: true, out var level) ? level : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.MetricsAddress);
            // Scrapes and probes need a handful; a flood of HTTP connections must not eat the descriptors the
            // endpoint socket and the datapath need.
            kestrel.Limits.MaxConcurrentConnections = 64;
        });

        var services = builder.Services;
        services.AddSingleton(options);
        // The state is opened only under the instance lock, at start (not at Build): a second agent on the same
        // database or socket waits here, before it has opened the one or bound the other (the socket server
        // needs the database) or its HTTP server.
        services.AddSingleton(provider =>
        {
            provider.GetRequiredService<InstanceLock>().Acquire();
            return new AgentDatabase(options.Database);
        });
        services.AddSingleton<EndpointRegistry>();
        services.AddSingleton<AgentMetrics>();
        services.TryAddSingleton(provider => DatapathFactory.Create(options, provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(provider => new PolicyBlocksMetric(provider.GetRequiredService<IPolicyDatapath>(), provider.GetRequiredService<AgentMetrics>().Registry));
        services.AddSingleton<InstanceLock>();
        // The cluster sync: the sources, the store they feed and the supervisor that restarts them. Features
        // subscribe to the kinds they need when they are made, which is before any hosted service starts.
        services.AddSingleton(provider => new ClusterSync(
            ClusterSources.Create(options, provider.GetRequiredService<ILoggerFactory>()),
            provider.GetRequiredService<ILogger<ClusterSync>>()));

        // Features. Each is a singleton, the narrow interfaces it serves to the rest of the agent, and a hosted
        // service that runs it. Readiness asks every IReadinessCheck in the order registered here.
        services.AddSingleton<PolicyFeature>();
        services.AddSingleton<IPolicyEnforcement>(provider => provider.GetRequiredService<PolicyFeature>());
        services.AddSingleton<IReadinessCheck>(provider => provider.GetRequiredService<PolicyFeature>());
        services.AddSingleton<IReadinessCheck>(provider => provider.GetRequiredService<ClusterSync>());
        if (options.Routes.Enabled)
        {
            services.AddSingleton(provider => new RoutesFeature(options.Routes, options.NodeName, options.Netns,
                provider.GetRequiredService<ClusterSync>(), provider.GetRequiredService<ILogger<RoutesFeature>>(), provider.GetRequiredService<ILoggerFactory>()));
            services.AddSingleton<IReadinessCheck>(provider => provider.GetRequiredService<RoutesFeature>());
        }
        if (options.Mesh.Enabled)
        {
            services.AddSingleton(provider => new MeshFeature(options, provider.GetRequiredService<ClusterSync>(), provider.GetRequiredService<ILoggerFactory>()));
            services.AddSingleton(provider => new MeshMetrics(provider.GetRequiredService<MeshFeature>(), provider.GetRequiredService<AgentMetrics>().Registry,
                routes: provider.GetService<RoutesFeature>()));
            services.AddSingleton(provider => new PathsFeature(provider.GetRequiredService<MeshFeature>(), provider.GetRequiredService<ClusterSync>(), options.Paths,
                new PathMetrics(provider.GetRequiredService<AgentMetrics>().Registry), provider.GetRequiredService<ILoggerFactory>(), provider.GetService<RoutesFeature>()));
            services.AddSingleton<Func<Patronus.Agent.Client.Protocol.PathsStatus>>(provider =>
            {
                var paths = provider.GetRequiredService<PathsFeature>();
                return () => paths.Status(options.NodeName);
            });
        }
        if (options.Services.Enabled)
            services.AddSingleton(provider => ServicesWiring.Create(options, provider.GetRequiredService<ClusterSync>(), provider.GetRequiredService<MeshFeature>(),
                provider.GetRequiredService<PathsFeature>(), provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<AgentReadiness>();
        services.AddSingleton<StatusReporter>();
        services.AddSingleton<AgentRequestHandler>();

        // Order matters: state is restored before the socket accepts, and both before the cluster sync starts and
        // policy is programmed; policy programs nothing before every source has delivered its first complete view.
        services.AddHostedService<AgentStartup>();
        services.AddHostedService<EndpointSocketServer>();
        services.AddHostedService<ClusterSyncService>();
        services.AddHostedService<PolicyService>();
        if (options.Routes.Enabled)
            services.AddHostedService<RoutesService>();
        if (options.Mesh.Enabled)
        {
            services.AddHostedService(provider => new MeshService(provider.GetRequiredService<MeshFeature>(), provider.GetRequiredService<ClusterSync>()));
            services.AddHostedService(provider => new PathsService(provider.GetRequiredService<PathsFeature>(), provider.GetRequiredService<ClusterSync>()));
        }
        if (options.Services.Enabled)
            services.AddHostedService(provider => new ServicesService(provider.GetRequiredService<ServicesFeature>(), provider.GetRequiredService<ClusterSync>()));
        services.AddHostedService<SpoolDrainer>();
        overrides?.Invoke(services);

        var app = builder.Build();
        // Fail at start, not at the first request, when the datapath cannot be made.
        try
        {
            app.Services.GetRequiredService<PolicyBlocksMetric>();
            if (options.Mesh.Enabled)
                app.Services.GetRequiredService<MeshMetrics>();
        }
        catch (Exception e) when (e is not AgentOptionsException)
        {
            throw new AgentOptionsException($"datapath '{options.Datapath}' cannot start: {e.Message}");
        }
        MapHttpEndpoints(app);
        return app;
    }

    private static void MapHttpEndpoints(WebApplication app)
    {
        app.MapGet("/metrics", async (HttpContext context, AgentMetrics metrics) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (AgentReadiness readiness) => readiness.NotReadyReason is { } reason
            ? Results.Text($"not ready: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
    }

    /// <summary>Where /metrics is actually served (the port is chosen by the system when configured as 0).</summary>
    public static Uri MetricsUri(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1"));
    }

    internal static string? ConfigFile(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
                return args[i + 1];
            if (args[i].StartsWith("--config="))
                return args[i]["--config=".Length..];
        }
        return null;
    }
}
