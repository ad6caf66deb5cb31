"""What each AWS resource type becomes locally, one module per service (as moto lays out its own).

Most twins create the resource in moto with the declared settings; some record it for
the runtime (functions, mappings, routes); a few are stand-ins for services moto does
not have (Rekognition, Cognito's identity provider, CloudFront, ElastiCache), each
labelled as a stand-in wherever it is shown.
"""
