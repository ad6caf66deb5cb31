"""The one base stack configuration every test starts from (keys without `moderation:`).

An issuer and audience for the API's authorizer (required unless edge auth is on), and
no dependency layer build (the tests and the local cloud run on this venv's packages).
"""

BASE_CONFIG = {
    "jwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST",
    "jwtAudience": "test-client",
    "dependencyLayer": "skip",
}
