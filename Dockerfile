# syntax=docker/dockerfile:1
# Build: docker build -t consul-operator:dev .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore in its own layer: it changes only when the project files do.
COPY global.json Directory.Build.props .editorconfig ./
COPY src/ConsulOperator/ConsulOperator.csproj src/ConsulOperator/
RUN dotnet restore src/ConsulOperator/ConsulOperator.csproj -r linux-x64

COPY src/ src/
COPY hack/publish.sh hack/
RUN bash hack/publish.sh /app --no-restore

# Chiseled: no shell, no package manager, a non-root user; the app writes nothing to its file system.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
WORKDIR /app
COPY --from=build /app ./
ENV DOTNET_EnableDiagnostics=0
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["/app/consul-operator"]
CMD ["run"]
