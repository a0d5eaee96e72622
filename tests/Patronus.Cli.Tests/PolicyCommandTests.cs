using System.CommandLine;
using System.Diagnostics;
using Patronus.Cli.Policy;
using Patronus.Testing;

namespace Patronus.Cli.Tests;

public sealed class PolicyCommandTests : IDisposable
{
    private const string SmallCluster = """
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Namespace, metadata: {name: x, labels: {kubernetes.io/metadata.name: x}}}
        - apiVersion: v1
          kind: Pod
          metadata: {name: a, namespace: x, labels: {pod: a}}
          spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
          status: {podIP: 10.0.0.1}
        - apiVersion: v1
          kind: Pod
          metadata: {name: b, namespace: x, labels: {pod: b}}
          spec: {containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}
          status: {podIP: 10.0.0.2}
        - apiVersion: v1
          kind: Pod
          metadata: {name: pending, namespace: x}
        """;

    private const string DenyA = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-a, namespace: x}
        spec:
          podSelector: {matchLabels: {pod: a}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: a-from-b-udp, namespace: x}
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
            ports: [{protocol: UDP}]
        """;

    private readonly string directory = Directory.CreateTempSubdirectory("patronus-policy-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string File(string name, string text)
    {
        var path = Path.Combine(directory, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand { PolicyCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void ReachJson_HasExactlyTheContractShape_WithDeclaredPortsSorted()
    {
        var (code, output, error) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "-f", File("policies.yaml", DenyA), "-o", "json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Equal(
            """{"results":[{"port":53,"protocol":"UDP","matrix":{"x/a":{"x/a":true,"x/b":true},"x/b":{"x/a":true,"x/b":true}}},""" +
            """{"port":80,"protocol":"TCP","matrix":{"x/a":{"x/a":true,"x/b":true},"x/b":{"x/a":false,"x/b":true}}}]}""" + "\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ReachJson_ProbesInTheOrderGiven()
    {
        var (code, output, _) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "-f", File("policies.yaml", DenyA),
            "-o", "json", "--port", "81/udp", "--port", "80", "--port", "80/SCTP");
        Assert.Equal(0, code);
        Assert.StartsWith("""{"results":[{"port":81,"protocol":"UDP","matrix":{"x/a":{"x/a":true,"x/b":true},"x/b":{"x/a":true,"x/b":true}}},{"port":80,"protocol":"TCP",""", output);
        Assert.Contains("""{"port":80,"protocol":"SCTP","matrix":{"x/a":{"x/a":true,"x/b":true},"x/b":{"x/a":false,"x/b":true}}}]}""", output);
    }

    [Fact]
    public void ReachTable_MarksAllowedAndDeniedWithoutNeedingColour()
    {
        var (code, output, _) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "-f", File("policies.yaml", DenyA), "--port", "80");
        Assert.Equal(0, code);
        Assert.DoesNotContain("\u001b[", output);
        var row = output.Split('\n').Single(l => l.StartsWith("│ x/b ", StringComparison.Ordinal));
        Assert.Equal(["✗", "✓"], row.Where(c => c is '✓' or '✗').Select(c => c.ToString()));
        Assert.Contains("80/TCP: 3 allowed ✓, 1 denied ✗", output);
    }

    [Fact]
    public void Explain_Denied_NamesTheIsolatingPoliciesAndThatNoRuleAdmits()
    {
        var (code, output, _) = Run("policy", "explain", "-f", File("cluster.yaml", SmallCluster), "-f", File("policies.yaml", DenyA),
            "--from", "x/b", "--to", "x/a", "--port", "80");
        Assert.Equal(0, code);
        Assert.Equal("""
            x/b -> x/a on 80/TCP: DENIED
              addresses checked: 10.0.0.2 -> 10.0.0.1
              egress of x/b (sender): allowed, not isolated (no NetworkPolicy selects it for egress)
              ingress of x/a (receiver): denied, isolated by x/a-from-b-udp, x/deny-a
                no ingress rule of these policies admits from 10.0.0.2 on 80/TCP

            """, output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Explain_Allowed_NamesThePolicyRuleAndPeer()
    {
        var (code, output, _) = Run("policy", "explain", "-f", File("cluster.yaml", SmallCluster), "-f", File("policies.yaml", DenyA),
            "--from", "x/b", "--to", "x/a", "--port", "5353/udp");
        Assert.Equal(0, code);
        Assert.Contains("x/b -> x/a on 5353/UDP: ALLOWED", output);
        Assert.Contains("admitted by x/a-from-b-udp ingress[0]: from[0] podSelector {pod=b}; ports */UDP", output);
    }

    [Fact]
    public void BadObjects_AreReportedWithFieldAndExitTwo_ValidOnesStillCount()
    {
        var policies = File("policies.yaml", DenyA + """

            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: bad-op, namespace: x}
            spec:
              podSelector: {matchExpressions: [{key: pod, operator: Equals, values: [b]}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: bad-cidr, namespace: x}
            spec:
              podSelector: {}
              ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/40}}]}]
            ---
            kind: Pod
            metadata: {name: broken
            """);
        var (code, output, error) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "-f", policies, "-o", "json", "--port", "80");
        Assert.Equal(2, code);
        Assert.Contains("NetworkPolicy x/bad-op: spec.podSelector.matchExpressions[0].operator: unknown operator \"Equals\"", error);
        Assert.Contains("NetworkPolicy x/bad-cidr: spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.0/40\" is not a valid CIDR", error);
        Assert.Contains("not valid YAML", error);
        Assert.Contains($"{policies}:", error);
        // deny-a still applies: b cannot reach a on 80.
        Assert.Contains("\"x/b\":{\"x/a\":false", output);
    }

    [Fact]
    public void UnknownPod_IsAnErrorWithExitOne()
    {
        var (code, output, error) = Run("policy", "explain", "-f", File("cluster.yaml", SmallCluster), "--from", "x/nope", "--to", "x/pending", "--port", "80");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("--from: pod x/nope does not exist in the given files", error);
        Assert.Contains("--to: pod x/pending has no IP address", error);
    }

    [Theory]
    [InlineData("80/icmp", "unknown protocol \"icmp\"")]
    [InlineData("0", "is not PORT[/PROTO]")]
    [InlineData("http", "is not PORT[/PROTO]")]
    public void BadPort_IsAnErrorWithExitOne(string port, string message)
    {
        var (code, _, error) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "--port", port);
        Assert.Equal(1, code);
        Assert.Contains(message, error);
    }

    [Fact]
    public void MissingFile_IsAnErrorWithExitOne()
    {
        var missing = Path.Combine(directory, "nope.yaml");
        var (code, output, error) = Run("policy", "reach", "-f", File("cluster.yaml", SmallCluster), "-f", missing);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains($"--file: {missing} does not exist", error);
    }

    [Fact]
    public void MissingFileOption_IsAUsageError()
    {
        var (code, _, error) = Run("policy", "reach");
        Assert.NotEqual(0, code);
        Assert.Contains("--file", error);
    }

    [Fact]
    public void PublishedEntryPoint_RunsTheUpstreamExample()
    {
        var root = Checkout.Root;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "patronus.dll"), "policy", "reach",
                "-f", Path.Combine(root, "examples/policy/upstream-cluster.yaml"),
                "-f", Path.Combine(root, "examples/policy/policies.yaml"),
                "-o", "json", "--port", "80",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal("", error);
        Assert.Equal(0, process.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var matrix = json.RootElement.GetProperty("results")[0].GetProperty("matrix");
        Assert.Equal(9, matrix.EnumerateObject().Count());
        Assert.True(matrix.GetProperty("y/a").GetProperty("x/b").GetBoolean());   // x admits namespace y
        Assert.False(matrix.GetProperty("z/a").GetProperty("x/a").GetBoolean());  // x denies the rest
        Assert.True(matrix.GetProperty("z/c").GetProperty("x/a").GetBoolean());   // named port serve-80-tcp from z/c
        Assert.False(matrix.GetProperty("z/b").GetProperty("x/b").GetBoolean());  // excepted from z/b's egress block
        Assert.False(matrix.GetProperty("z/b").GetProperty("y/a").GetBoolean());  // outside z/b's egress block
        Assert.True(matrix.GetProperty("z/b").GetProperty("z/b").GetBoolean());   // self
    }
}
