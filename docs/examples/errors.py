"""Handling 429, 402, 422 and 596: what each means and what to do about it."""

import anyio

from pixverse_audio import (
    AccountError,
    AsyncClient,
    BusyError,
    InsufficientCreditsError,
    Job,
    ModerationError,
    OutcomeUnknownError,
    PaymentRequiredError,
    SubscriptionExpiredError,
)


async def create(client: AsyncClient, prompt: str, email: str | None = None) -> Job | str:
    """Start a track, or explain in one line why it could not start."""
    # --8<-- [start:handle]
    try:
        # A 429 (busy) is absorbed: the account is backed off and the create sent
        # again. A lost answer is looked for in the account's newest jobs; the
        # job found is adopted and returned here, as if the answer had come.
        return await client.music.create(prompt, email=email)
    except BusyError as exc:  # 429 on every try, 100 in a row: no job was created
        return f"busy: the account stayed full ({exc.message}); try later"
    except InsufficientCreditsError:  # 402: this PixVerse account is out of credits
        return "no credits: top up the account, or use another one"
    except SubscriptionExpiredError:  # 402: the useapi.net subscription ended
        return "no subscription: renew it at useapi.net"
    except PaymentRequiredError as exc:  # any other 402
        return f"payment required: {exc.message}"
    except ModerationError as exc:  # 422: the prompt was refused; change it
        return f"refused by moderation: {exc.message}"
    except AccountError:  # 596: the account needs attention at PixVerse
        return "account on hold: fix it, then POST accounts/{email} again"
    except OutcomeUnknownError as exc:  # answer lost, no job found: one may still appear
        return f"unknown outcome, reconcile before retrying: {exc.payload}"
    # --8<-- [end:handle]


async def main(client: AsyncClient) -> list[str]:
    outcomes = []
    for prompt in ("a sea shanty", "a march for a parade"):
        result = await create(client, prompt)
        outcomes.append(f"started {result.audio_id}" if isinstance(result, Job) else result)
    print("\n".join(outcomes))
    return outcomes


async def run() -> None:
    async with AsyncClient() as client:
        await main(client)


if __name__ == "__main__":
    anyio.run(run)
