using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Patronus.Agent.Client;
using Patronus.Agent.Datapath;
using Patronus.Agent.Hosting;
using Patronus.Agent.Policy;

namespace Patronus.Agent.Tests.Hosting;

/// <summary>Temporary paths for one agent's socket, database, spool and manifests, kept across restarts.</summary>
public sealed class AgentPaths : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pagt-agent-").FullName;

    public AgentPaths() => Directory.CreateDirectory(Manifests);

    public string Manifests => Path.Combine(Root, "manifests");
    public string Socket => Path.Combine(Root, "agent.sock");
    public string Database => Path.Combine(Root, "state.db");
    public string Spool => Path.Combine(Root, "pending");

    public void WriteManifest(string name, string text) => File.WriteAllText(Path.Combine(Manifests, name), text);

    public AgentClient Client() => new(Socket, Spool);

    public string[] Arguments(params string[] extra) =>
    [
        "--manifests", Manifests, "--socket", Socket, "--database", Database, "--spool", Spool,
        "--metrics-address", "127.0.0.1:0", "--datapath", "none", "--node-name", "node-a",
        "--pod-wait-seconds", "0", "--log-level", "Warning", .. extra,
    ];

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>An agent started in this process, with a recording datapath in place of the kernel.</summary>
public sealed class RunningAgent : IAsyncDisposable
{
    private RunningAgent(WebApplication app, RecordingDatapath datapath)
    {
        App = app;
        Datapath = datapath;
    }

    public WebApplication App { get; }

    public RecordingDatapath Datapath { get; }

    public Uri MetricsUri => AgentHost.MetricsUri(App);

    public PolicyFeature Policy => App.Services.GetRequiredService<PolicyFeature>();

    public static async Task<RunningAgent> StartAsync(string[] args, RecordingDatapath? datapath = null, bool waitReady = true)
    {
        datapath ??= new RecordingDatapath();
        var app = AgentHost.Build(args, services => services.AddSingleton<IPolicyDatapath>(datapath));
        await app.StartAsync();
        var agent = new RunningAgent(app, datapath);
        if (waitReady)
            await agent.Policy.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        return agent;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
