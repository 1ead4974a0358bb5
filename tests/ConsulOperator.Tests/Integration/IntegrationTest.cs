using ConsulOperator.Api.V1Alpha1;

namespace ConsulOperator.Tests.Integration;

/// <summary>A test class that gets a fresh test API server and operator for every test.</summary>
public abstract class IntegrationTest(int replicas = 1) : IAsyncLifetime
{
    protected OperatorHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await OperatorHarness.StartAsync(replicas);

    public async Task DisposeAsync() => await Harness.DisposeAsync();

    protected Task<V1Alpha1ConsulCluster> WaitForReadyAsync(string name = "consul", long generation = 1) => Harness.WaitForReadyAsync(name, generation);
}
