# syntax=docker/dockerfile:1
# Build from the repository root:
#   docker build -f samples/deploy/docker/inference-server.Dockerfile -t registry.example.com/ctrfallback/inference-server:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /repo
# Build settings first (SDK pin, package sources, central versions), then the sources the server needs.
COPY global.json nuget.config .editorconfig Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY samples/CtrFallback.InferenceServer/ samples/CtrFallback.InferenceServer/
RUN dotnet restore samples/CtrFallback.InferenceServer/CtrFallback.InferenceServer.csproj
RUN dotnet publish samples/CtrFallback.InferenceServer/CtrFallback.InferenceServer.csproj \
      --configuration Release --no-restore --output /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# LightGBM's native library needs OpenMP (libgomp), which the base image lacks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_URLS=http://+:8080
# Cold start at full speed after every rollout: tier-1 recompiles of the framework's code start at once under the
# server's request warm-up, before /readyz, instead of after the runtime's tiering delay (100 ms without a newly called
# method, ten times that on one core), which kept them running on the serving core for ~30 s after ready
# (benchmarks/load/coldstart.sh, benchmarks/load/RESULTS.md). Only an environment variable sets it.
ENV DOTNET_TC_CallCountingDelayMs=0
# Socket completions run on the runtime's epoll thread instead of being queued to the thread pool first: on a pod of
# one core that hand-off is a thread switch per read and per write (benchmarks/load/ab.sh; Kestrel still runs the
# requests themselves on the thread pool, see benchmarks/load/RESULTS.md).
ENV DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
EXPOSE 8080
# The base image's non-root `app` user (UID 1654); the manifests run as the same UID.
USER $APP_UID
ENTRYPOINT ["dotnet", "CtrFallback.InferenceServer.dll"]
