namespace ConsulOperator.Api;

/// <summary>One thing wrong with an object: where (a JSON path such as <c>spec.servers.replicas</c>) and why.</summary>
public sealed record ValidationProblem(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
