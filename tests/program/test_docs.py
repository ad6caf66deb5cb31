"""The generated pages of docs/ match the code and the recorded figures."""

from scripts import gen_docs


def test_generated_docs_are_current():
    assert gen_docs.main(["--check"]) == 0, "run `make docs` and commit docs/"


def test_every_function_variable_is_in_the_contract_with_a_meaning():
    declared = gen_docs.declared_environment()
    from lambdas.common.contract import ENV_DOCS, Env

    assert set(declared) <= {str(e) for e in Env}
    assert set(ENV_DOCS) == set(Env)
